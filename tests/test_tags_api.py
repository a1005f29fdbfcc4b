"""A hashtag's posts (`GET /api/tags/{tag}/posts`) end to end against a real server."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import trio

from tests.support import images
from tests.support.api import assert_error, bearer, register, unique_name
from tests.support.posts import post_photo, publish, settled, upload


async def tagged(client: httpx.AsyncClient, tag: str, token: str | None = None,
                 limit: int = 20) -> list[dict[str, Any]]:
    """Every post of the tag's list, paging with cursors."""
    posts: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = await client.get(f"/api/tags/{quote(tag, safe='')}/posts", params=params,
                                  headers=bearer(token) if token else {})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["posts"]) <= limit
        posts += body["posts"]
        cursor = body["next_cursor"]
        if cursor is None:
            return posts
        assert len(body["posts"]) == limit


async def ids(client: httpx.AsyncClient, tag: str, **options: Any) -> list[str]:
    return [p["post_id"] for p in await tagged(client, tag, **options)]


async def test_a_tags_posts_newest_first_in_any_case_until_deleted(
        client: httpx.AsyncClient) -> None:
    alice_token, alice = await register(client)
    bob_token, _ = await register(client)
    tag, other = unique_name("sun"), unique_name("sea")
    with trio.fail_after(120):
        first = await post_photo(client, alice_token, images.jpeg(120, 90),
                                 caption=f"first #{tag.upper()}!")
        second = await post_photo(client, bob_token, images.jpeg(120, 90),
                                  caption=f"#{other} and #{tag}, #{tag} again")
        assert first["hashtags"] == [tag] and second["hashtags"] == [other, tag]
        newest_first = [second["post_id"], first["post_id"]]

        # a post still processing is not listed (a large photo takes a while), and is once ready
        third, _ = await upload(client, alice_token, images.jpeg(2400, 1800))
        await publish(client, alice_token, third, caption=f"#{other} in #İ{tag}")
        assert await ids(client, other, token=alice_token) == [second["post_id"]]
        own = await client.get(f"/api/posts/{third}", headers=bearer(alice_token))
        assert own.json()["status"] == "processing"  # so it was when listed
        assert (await settled(client, alice_token, third))["status"] == "ready"
        assert await ids(client, other) == [third, second["post_id"]]

        # signed out, paged one at a time, and in whatever case the tag is written
        for name in (tag, tag.upper(), tag.title()):
            assert await ids(client, name) == newest_first
            assert await ids(client, name, limit=1) == newest_first
        # "İ" lowercases to "i" + U+0307: the stored form and the written one both list it
        assert (await settled(client, alice_token, third))["hashtags"] == [other, f"i\u0307{tag}"]
        for name in (f"İ{tag}", f"i\u0307{tag}"):
            assert await ids(client, name) == [third]

        # the same post views as everywhere: author, counts and the viewer's like
        liked = await client.post(f"/api/posts/{first['post_id']}/like", headers=bearer(bob_token))
        assert liked.status_code == 200
        seen_by_bob = await tagged(client, tag, bob_token)
        assert [(p["liked_by_viewer"], p["like_count"]) for p in seen_by_bob] == [(False, 0), (True, 1)]
        assert seen_by_bob[1]["author"]["username"] == alice["username"]
        assert seen_by_bob[1]["media_url"] == first["media_url"]
        seen_by_anyone = await tagged(client, tag)
        assert [p["liked_by_viewer"] for p in seen_by_anyone] == [False, False]

        # a cursor is this list's, sealed
        page = (await client.get(f"/api/tags/{tag}/posts", params={"limit": 1})).json()
        theirs = (await client.get(f"/api/users/{alice['username']}/posts",
                                   params={"limit": 1})).json()
        assert page["next_cursor"] and theirs["next_cursor"]
        for cursor in ("nonsense", theirs["next_cursor"], page["next_cursor"][:-2]):
            answer = await client.get(f"/api/tags/{tag}/posts", params={"cursor": cursor})
            assert_error(answer, 400, "invalid_cursor")

        deleted = await client.delete(f"/api/posts/{second['post_id']}", headers=bearer(bob_token))
        assert deleted.status_code == 204
        assert await ids(client, tag) == [first["post_id"]]
        assert await ids(client, other) == [third]


async def test_names_no_hashtag_has_are_404(client: httpx.AsyncClient) -> None:
    with trio.fail_after(30):
        for raw in ("a" * 101, "%00", "a%00", "%2E%2E", "..", "a.b", "a-b", "a%20b", "%23sun",
                    "sun%0A", "%E2%80%AEsun", "%F0%9F%8C%85"):
            answer = await client.get(f"/api/tags/{raw}/posts")
            assert_error(answer, 404, "not_found")
        for name in ("a" * 100, "١٢٣", "²", "café", "0", "_"):  # word characters: tags
            answer = await client.get(f"/api/tags/{quote(name)}/posts")
            assert answer.status_code == 200, (name, answer.text)
            assert answer.json() == {"posts": [], "next_cursor": None}
        assert_error(await client.get("/api/tags/sun/posts", params={"limit": 101}), 422)
        assert_error(await client.get("/api/tags/sun/posts", headers=bearer("not-a-token")), 401)
