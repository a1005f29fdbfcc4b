"""The feed, likes and comments end to end against a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import trio

from pixtrio.features.accounts.service import hash_token
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.testing.server_process import ServerProcess, wait_until
from tests.support import images
from tests.support.api import assert_error, bearer, register
from tests.support.posts import post_photo, publish, upload


async def feed_ids(client: httpx.AsyncClient, token: str, limit: int = 2) -> list[str]:
    """Every post id of the viewer's feed, paging with cursors."""
    ids: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = await client.get("/api/feed", headers=bearer(token), params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        ids += [p["post_id"] for p in body["posts"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def follow(client: httpx.AsyncClient, token: str, username: str) -> None:
    answer = await client.post(f"/api/users/{username}/follow", headers=bearer(token))
    assert answer.status_code == 200


async def settled_feed(client: httpx.AsyncClient, token: str, expected: list[str]) -> list[str]:
    """The feed once fan-out (a background job) has caught up with `expected`."""
    with trio.fail_after(20):
        while True:
            ids = await feed_ids(client, token)
            if ids == expected:
                return ids
            await trio.sleep(0.05)


async def test_feed_likes_comments_and_deletion(client: httpx.AsyncClient,
                                                live_server: ServerProcess) -> None:
    alice_token, alice = await register(client)
    bob_token, bob = await register(client)
    carol_token, _ = await register(client)
    await follow(client, alice_token, bob["username"])
    own = await post_photo(client, alice_token, images.jpeg(300, 200), caption="mine")
    bobs = [await post_photo(client, bob_token, images.jpeg(300, 200)) for _ in range(2)]
    carols = await post_photo(client, carol_token, images.jpeg(300, 200))
    expected = sorted([own["post_id"], *(p["post_id"] for p in bobs)], key=int, reverse=True)
    assert await settled_feed(client, alice_token, expected) == expected
    assert carols["post_id"] not in expected

    post_id = bobs[0]["post_id"]
    for _ in range(2):  # idempotent
        liked = await client.post(f"/api/posts/{post_id}/like", headers=bearer(alice_token))
        assert liked.status_code == 200 and liked.json() == {"liked": True, "like_count": 1}
    page = (await client.get("/api/feed", headers=bearer(alice_token))).json()
    shown = {p["post_id"]: p for p in page["posts"]}
    assert shown[post_id]["liked_by_viewer"] and shown[post_id]["like_count"] == 1
    assert shown[post_id]["author"]["username"] == bob["username"]
    assert not shown[own["post_id"]]["liked_by_viewer"]
    for _ in range(2):
        unliked = await client.delete(f"/api/posts/{post_id}/like", headers=bearer(alice_token))
        assert unliked.json() == {"liked": False, "like_count": 0}

    made = []
    for text in (f"first #Sunset with @{bob['username'].upper()}.", "second"):
        answer = await client.post(f"/api/posts/{post_id}/comments", headers=bearer(alice_token),
                                   json={"text": text})
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    assert made[0]["hashtags"] == ["sunset"] and made[0]["mentions"] == [bob["username"]]
    assert made[0]["author"]["username"] == alice["username"]
    listed = (await client.get(f"/api/posts/{post_id}/comments", params={"limit": 1})).json()
    assert [c["comment_id"] for c in listed["comments"]] == [made[0]["comment_id"]]
    rest = (await client.get(f"/api/posts/{post_id}/comments",
                             params={"cursor": listed["next_cursor"]})).json()
    assert [c["text"] for c in rest["comments"]] == ["second"] and rest["next_cursor"] is None
    post = (await client.get(f"/api/posts/{post_id}", headers=bearer(alice_token))).json()
    assert post["comment_count"] == 2
    forbidden = await client.delete(f"/api/comments/{made[0]['comment_id']}",
                                    headers=bearer(carol_token))
    assert_error(forbidden, 403, "forbidden")
    by_post_author = await client.delete(f"/api/comments/{made[0]['comment_id']}",
                                         headers=bearer(bob_token))
    assert by_post_author.status_code == 204
    by_comment_author = await client.delete(f"/api/comments/{made[1]['comment_id']}",
                                            headers=bearer(alice_token))
    assert by_comment_author.status_code == 204
    feed = (await client.get("/api/feed", headers=bearer(alice_token))).json()
    assert {p["post_id"]: p for p in feed["posts"]}[post_id]["comment_count"] == 0

    deleted = await client.delete(f"/api/posts/{post_id}", headers=bearer(bob_token))
    assert deleted.status_code == 204
    expected.remove(post_id)
    assert await feed_ids(client, alice_token) == expected  # at once, whatever caches held
    assert (await client.get(f"/api/posts/{post_id}")).status_code == 404
    gone = await client.post(f"/api/posts/{post_id}/like", headers=bearer(alice_token))
    assert_error(gone, 404)

    await client.delete(f"/api/users/{bob['username']}/follow", headers=bearer(alice_token))
    assert await feed_ids(client, alice_token) == [own["post_id"]]
    await follow(client, alice_token, bob["username"])
    assert await feed_ids(client, alice_token) == expected


async def test_feed_survives_redis_losing_everything(data_dir: Path) -> None:
    """Flushes Redis, so it runs on a server of its own, not the one other tests share."""
    with ServerProcess(data_dir) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            await feed_survives_redis_losing_everything(client, server)


async def feed_survives_redis_losing_everything(client: httpx.AsyncClient,
                                                server: ServerProcess) -> None:
    reader_token, _ = await register(client)
    author_token, author = await register(client)
    await follow(client, reader_token, author["username"])
    posts = [await post_photo(client, author_token, images.jpeg(200, 200)) for _ in range(2)]
    expected = sorted((p["post_id"] for p in posts), key=int, reverse=True)
    assert await settled_feed(client, reader_token, expected) == expected
    liked = await client.post(f"/api/posts/{expected[0]}/like", headers=bearer(reader_token))
    assert liked.json()["like_count"] == 1

    socket = next(e["redis"] for e in server.log_entries() if "redis" in e)
    async with open_redis(RedisAddress(unix_socket=socket.split("unix:", 1)[1])) as redis:
        await redis.flushall()
    assert await feed_ids(client, reader_token) == expected  # rebuilt; counters marked

    async def like_counted() -> bool:  # once the like flusher has run
        page = (await client.get("/api/feed", headers=bearer(reader_token))).json()
        return bool(page["posts"][0]["like_count"] == 1 and page["posts"][0]["liked_by_viewer"])

    await wait_until(like_counted, "the like to be counted again")
    newer = await post_photo(client, author_token, images.jpeg(200, 200))  # jobs still run
    assert await settled_feed(client, reader_token, [newer["post_id"], *expected])


async def test_feed_likes_and_comments_refuse_bad_input(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    other_token, _ = await register(client)
    assert_error(await client.get("/api/feed"), 401)
    assert_error(await client.get("/api/feed", headers=bearer(token),
                                  params={"cursor": "garbage"}), 400, "invalid_cursor")
    for limit in (0, 101):
        assert_error(await client.get("/api/feed", headers=bearer(token),
                                      params={"limit": limit}), 422)
    assert_error(await client.post("/api/posts/123456789/like", headers=bearer(token)), 404)
    assert_error(await client.post("/api/posts/abc/like", headers=bearer(token)), 404)
    hidden, _ = await upload(client, other_token, images.jpeg(64, 64))  # never published
    assert_error(await client.post(f"/api/posts/{hidden}/like", headers=bearer(token)), 404)
    processing, _ = await upload(client, other_token, images.jpeg(64, 64))
    await publish(client, other_token, processing)
    post = await post_photo(client, other_token, images.jpeg(64, 64))
    for text in ("", "   ", "x" * 2201):
        refused = await client.post(f"/api/posts/{post['post_id']}/comments",
                                    headers=bearer(token), json={"text": text})
        assert_error(refused, 422)
    assert_error(await client.post(f"/api/posts/{post['post_id']}/comments",
                                   headers=bearer(token), json={}), 422)
    ok = await client.post(f"/api/posts/{post['post_id']}/comments", headers=bearer(token),
                           json={"text": "x" * 2200})
    assert ok.status_code == 201
    assert_error(await client.get("/api/posts/999/comments"), 404)
    assert_error(await client.get(f"/api/posts/{post['post_id']}/comments",
                                  params={"cursor": "nope"}), 400, "invalid_cursor")
    assert_error(await client.delete("/api/comments/999", headers=bearer(token)), 404)


async def test_a_new_profile_picture_shows_in_feeds_that_cached_the_old(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    reader_token, _ = await register(client)
    author_token, author = await register(client)
    await follow(client, reader_token, author["username"])
    post = await post_photo(client, author_token, images.jpeg(300, 200))
    await settled_feed(client, reader_token, [post["post_id"]])

    async def feed_author() -> dict[str, Any]:
        answer = await client.get("/api/feed", headers=bearer(reader_token))
        [shown] = answer.json()["posts"]
        return dict(shown["author"])

    first = await feed_author()  # the author's card is cached from here on
    assert first == {"user_id": author["user_id"], "username": author["username"],
                     "profile_pic": None}
    assert await feed_author() == first
    answer = await client.put("/api/me/avatar", headers=bearer(author_token),
                              content=images.jpeg(400, 400))
    assert answer.status_code == 200, answer.text
    assert answer.json()["profile_pic"]
    assert await feed_author() == {**first, "profile_pic": answer.json()["profile_pic"]}


async def test_the_feed_signs_in_like_every_route(client: httpx.AsyncClient,
                                                  live_server: ServerProcess) -> None:
    """The feed signs its token in inside its Redis call, from the session-token cache;
    a token missing there goes through the store, and a logged-out one never works."""
    token, _ = await register(client)
    assert_error(await client.get("/api/feed"), 401, "not_authenticated")
    assert_error(await client.get("/api/feed", headers=bearer("forged")), 401, "invalid_token")
    socket = next(e["redis"] for e in live_server.log_entries() if "redis" in e)
    cached = keys.session_token(hash_token(token).hex())
    async with open_redis(RedisAddress(unix_socket=socket.split("unix:", 1)[1])) as redis:
        assert not await redis.exists([cached])  # not cached yet: signed in via the store
        assert (await client.get("/api/feed", headers=bearer(token))).status_code == 200
        assert await redis.exists([cached])  # cached by that first read
        assert (await client.get("/api/feed", headers=bearer(token))).status_code == 200
        out = await client.post("/api/auth/logout", headers=bearer(token))
        assert out.status_code == 204
        assert_error(await client.get("/api/feed", headers=bearer(token)), 401, "invalid_token")
        await redis.delete([cached])  # even with the tombstone gone
        assert_error(await client.get("/api/feed", headers=bearer(token)), 401, "invalid_token")


async def test_comments_refuse_invisible_text_and_control_characters(
        client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    post = await post_photo(client, token, images.jpeg(64, 64))
    comments = f"/api/posts/{post['post_id']}/comments"
    # format characters (Cf: zero-width space, word joiner, BOM, soft hyphen) are blank too
    for text in ("\u200b", "\u200b \u2060\ufeff\n\u00ad"):
        error = assert_error(await client.post(comments, headers=bearer(token),
                                               json={"text": text}), 422, "invalid_field")
        assert error["message"].startswith("text:")
    for text, found in (("nul\u0000byte", "U+0000"), ("\u001b[31mred", "U+001B"),
                        ("c1\u0085", "U+0085"), ("vt\u000b", "U+000B")):
        error = assert_error(await client.post(comments, headers=bearer(token),
                                               json={"text": text}), 422, "invalid_field")
        assert error["message"].startswith("text:") and found in error["message"]
    kept = ["line one\r\nline two\tend", "\u200bvisible"]
    for text in kept:
        answer = await client.post(comments, headers=bearer(token), json={"text": text})
        assert answer.status_code == 201, answer.text
    listed = (await client.get(comments)).json()["comments"]
    assert [c["text"] for c in listed] == kept
