"""Private accounts, follow requests, blocks and mutes over HTTP and /ws, against a real
server: whatever a viewer may not see answers 404 and reaches no feed or live stream."""

from __future__ import annotations

from typing import Any

import httpx
import trio

from pixtrio.protocol.messages import FeedInsert, Notification
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import assert_error, bearer, register, unique_name
from tests.support.images import jpeg
from tests.support.posts import post_photo
from tests.support.ws import connect


async def feed_ids(client: httpx.AsyncClient, token: str) -> list[str]:
    answer = await client.get("/api/feed", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return [p["post_id"] for p in answer.json()["posts"]]


async def settled_feed(client: httpx.AsyncClient, token: str, expected: list[str]) -> None:
    """Wait for the feed to be `expected` (fan-out is a background job)."""
    with trio.fail_after(20):
        while True:
            if await feed_ids(client, token) == expected:
                return
            await trio.sleep(0.05)


async def profile(client: httpx.AsyncClient, token: str | None, username: str) -> dict[str, Any]:
    answer = await client.get(f"/api/users/{username}", headers=bearer(token) if token else {})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def usernames(client: httpx.AsyncClient, token: str, path: str) -> list[str]:
    answer = await client.get(path, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return [u["username"] for u in answer.json()["users"]]


async def set_private(client: httpx.AsyncClient, token: str, private: bool) -> dict[str, Any]:
    answer = await client.patch("/api/me", headers=bearer(token), json={"is_private": private})
    assert answer.status_code == 200, answer.text
    assert answer.json()["is_private"] is private
    return answer.json()  # type: ignore[no-any-return]


async def content_hidden(client: httpx.AsyncClient, token: str | None, owner: str,
                         post_id: str) -> None:
    """Every content route of `owner` answers 404 to this viewer; the profile does not."""
    headers = bearer(token) if token else {}
    for path in (f"/api/users/{owner}/posts", f"/api/posts/{post_id}",
                 f"/api/posts/{post_id}/comments", f"/api/users/{owner}/followers",
                 f"/api/users/{owner}/following"):
        assert_error(await client.get(path, headers=headers), 404, "not_found")
    if token:
        for method in ("POST", "DELETE"):
            assert_error(await client.request(method, f"/api/posts/{post_id}/like",
                                              headers=headers), 404)
        assert_error(await client.post(f"/api/posts/{post_id}/comments", headers=headers,
                                       json={"text": "hi"}), 404)


async def content_shown(client: httpx.AsyncClient, token: str, owner: str,
                        post_id: str) -> None:
    for path in (f"/api/users/{owner}/posts", f"/api/posts/{post_id}",
                 f"/api/posts/{post_id}/comments", f"/api/users/{owner}/followers"):
        answer = await client.get(path, headers=bearer(token))
        assert answer.status_code == 200, (path, answer.text)


async def test_private_account_and_follow_requests(client: httpx.AsyncClient) -> None:
    owner_token, owner = await register(client)
    fan_token, fan = await register(client)
    stranger_token, stranger = await register(client)
    name = owner["username"]
    tag = unique_name("tag")
    post = await post_photo(client, owner_token, jpeg(64, 48), caption=f"mine #{tag}")
    assert owner["is_private"] is False
    assert (await set_private(client, owner_token, True))["followers_count"] == 0

    seen = await profile(client, stranger_token, name)  # header and counts
    assert seen["is_private"] is True and seen["posts_count"] == 1
    assert seen["requested_by_viewer"] is False and seen["followed_by_viewer"] is False
    assert (await profile(client, None, name))["posts_count"] == 1
    for viewer in (stranger_token, None):
        await content_hidden(client, viewer, name, post["post_id"])
        tagged = await client.get(f"/api/tags/{tag}/posts",
                                  headers=bearer(viewer) if viewer else {})
        assert tagged.status_code == 200 and tagged.json()["posts"] == []
    own_tagged = (await client.get(f"/api/tags/{tag}/posts", headers=bearer(owner_token))).json()
    assert [p["post_id"] for p in own_tagged["posts"]] == [post["post_id"]]

    async with connect_owner(client, owner_token) as notifications:
        for _ in range(2):  # idempotent
            answer = await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))
            assert answer.status_code == 200
            assert answer.json() == {"following": False, "requested": True}
        asked = await notifications.next_of(Notification)
        assert (asked.kind, asked.actor["username"]) == ("follow_request", fan["username"])
    assert (await profile(client, fan_token, name))["requested_by_viewer"] is True
    await content_hidden(client, fan_token, name, post["post_id"])
    assert await usernames(client, owner_token, "/api/me/follow-requests") == [fan["username"]]

    for _ in range(2):
        answer = await client.post(f"/api/me/follow-requests/{fan['username']}/decline",
                                   headers=bearer(owner_token))
        assert answer.status_code == 204
    assert await usernames(client, owner_token, "/api/me/follow-requests") == []
    assert (await profile(client, fan_token, name))["requested_by_viewer"] is False
    assert_error(await client.post(f"/api/me/follow-requests/{fan['username']}/accept",
                                   headers=bearer(owner_token)), 404)

    await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))
    async with connect_owner(client, fan_token) as fan_ws:
        answer = await client.post(f"/api/me/follow-requests/{fan['username']}/accept",
                                   headers=bearer(owner_token))
        assert answer.status_code == 204
        accepted = await fan_ws.next_of(Notification)
        assert (accepted.kind, accepted.actor["username"]) == ("follow_accepted", name)
    answer = await client.post(f"/api/me/follow-requests/{fan['username']}/accept",
                               headers=bearer(owner_token))
    assert answer.status_code == 204  # accepted already: idempotent
    seen = await profile(client, fan_token, name)
    assert seen["followed_by_viewer"] is True and seen["followers_count"] == 1
    await content_shown(client, fan_token, name, post["post_id"])
    await settled_feed(client, fan_token, [post["post_id"]])
    answer = await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))
    assert answer.json() == {"following": True, "requested": False}

    # A follower who unfollows loses the posts, in the feed too.
    await client.delete(f"/api/users/{name}/follow", headers=bearer(fan_token))
    await content_hidden(client, fan_token, name, post["post_id"])
    assert await feed_ids(client, fan_token) == []
    await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))
    await client.post(f"/api/me/follow-requests/{fan['username']}/accept",
                      headers=bearer(owner_token))

    # Going public accepts every pending request; going private again keeps followers.
    await client.post(f"/api/users/{name}/follow", headers=bearer(stranger_token))
    await set_private(client, owner_token, False)
    assert await usernames(client, owner_token, "/api/me/follow-requests") == []
    assert (await profile(client, stranger_token, name))["followed_by_viewer"] is True
    assert sorted(await usernames(client, owner_token, f"/api/users/{name}/followers")) == \
        sorted([fan["username"], stranger["username"]])
    await set_private(client, owner_token, True)
    await content_shown(client, stranger_token, name, post["post_id"])
    await settled_feed(client, stranger_token, [post["post_id"]])


def connect_owner(client: httpx.AsyncClient, token: str) -> Any:
    """A websocket session of the account `token` signs in, on the client's server."""
    return connect(str(client.base_url).rstrip("/"), token)


async def test_blocks(client: httpx.AsyncClient) -> None:
    a_token, a = await register(client)
    b_token, b = await register(client)
    c_token, c = await register(client)
    for token, other in ((a_token, b), (b_token, a), (c_token, a)):
        await client.post(f"/api/users/{other['username']}/follow", headers=bearer(token))
    post = await post_photo(client, a_token, jpeg(64, 48))
    await settled_feed(client, b_token, [post["post_id"]])
    for token in (b_token, c_token):
        answer = await client.post(f"/api/posts/{post['post_id']}/comments",
                                   headers=bearer(token), json={"text": "hello"})
        assert answer.status_code == 201, answer.text

    for _ in range(2):  # idempotent
        answer = await client.post(f"/api/users/{b['username']}/block", headers=bearer(a_token))
        assert answer.status_code == 204
    blocks = (await client.get("/api/me/blocks", headers=bearer(a_token))).json()
    assert [u["username"] for u in blocks["users"]] == [b["username"]]
    assert blocks["users"][0]["blocked_by_viewer"] is True and blocks["next_cursor"] is None

    # Both ways: profiles 404, content 404, follows gone, no follow, like or comment.
    for token, other in ((b_token, a), (a_token, b)):
        assert_error(await client.get(f"/api/users/{other['username']}",
                                      headers=bearer(token)), 404, "not_found")
        assert_error(await client.post(f"/api/users/{other['username']}/follow",
                                       headers=bearer(token)), 404)
    await content_hidden(client, b_token, a["username"], post["post_id"])
    seen = await profile(client, c_token, a["username"])
    assert (seen["followers_count"], seen["following_count"]) == (1, 0)
    assert await feed_ids(client, b_token) == []

    # Each other's comments are hidden; others still see them.
    def authors(answer: httpx.Response) -> list[str]:
        return [comment["author"]["username"] for comment in answer.json()["comments"]]

    path = f"/api/posts/{post['post_id']}/comments"
    assert authors(await client.get(path, headers=bearer(a_token))) == [c["username"]]
    assert authors(await client.get(path, headers=bearer(c_token))) == \
        [b["username"], c["username"]]

    for verb in ("block", "mute"):
        assert_error(await client.post(f"/api/users/{a['username']}/{verb}",
                                       headers=bearer(a_token)), 422)
    assert_error(await client.post("/api/users/nobody_at_all_x/block",
                                   headers=bearer(a_token)), 404)
    assert_error(await client.post(f"/api/users/{b['username']}/block"), 401)

    for _ in range(2):
        answer = await client.delete(f"/api/users/{b['username']}/block", headers=bearer(a_token))
        assert answer.status_code == 204
    assert (await profile(client, b_token, a["username"]))["followed_by_viewer"] is False
    assert (await client.get("/api/me/blocks", headers=bearer(a_token))).json()["users"] == []


async def test_mutes_leave_the_feed_and_live_stream(client: httpx.AsyncClient,
                                                     live_server: ServerProcess) -> None:
    author_token, author = await register(client)
    fan_token, fan = await register(client)
    name = author["username"]
    await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))
    first = await post_photo(client, author_token, jpeg(64, 48))
    await settled_feed(client, fan_token, [first["post_id"]])

    for _ in range(2):
        answer = await client.post(f"/api/users/{name}/mute", headers=bearer(fan_token))
        assert answer.status_code == 204
    assert await feed_ids(client, fan_token) == []
    seen = await profile(client, fan_token, name)
    assert seen["muted_by_viewer"] is True and seen["followed_by_viewer"] is True
    assert (await profile(client, author_token, fan["username"]))["muted_by_viewer"] is False
    assert await usernames(client, fan_token, "/api/me/mutes") == [name]
    await content_shown(client, fan_token, name, first["post_id"])  # muted, not hidden

    async with connect(live_server.url, fan_token) as fan_ws:
        muted = await post_photo(client, author_token, jpeg(64, 48))
        await client.delete(f"/api/users/{name}/mute", headers=bearer(fan_token))
        shown = await post_photo(client, author_token, jpeg(64, 48))
        inserted = await fan_ws.next_of(FeedInsert)  # the muted post never came
        assert inserted.post["post_id"] == shown["post_id"]
    await settled_feed(client, fan_token,
                       [shown["post_id"], muted["post_id"], first["post_id"]])
    assert await usernames(client, fan_token, "/api/me/mutes") == []


async def test_a_resume_replays_only_what_the_rule_allows_now(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    author_token, author = await register(client)
    other_token, other = await register(client)
    fan_token, _ = await register(client)
    for name in (author["username"], other["username"]):
        await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))
    async with connect(live_server.url, fan_token) as fan_ws:
        first = await post_photo(client, author_token, jpeg(64, 48))
        inserted = await fan_ws.next_of(FeedInsert)
        assert inserted.post["post_id"] == first["post_id"]
        since = inserted.id
    async with connect(live_server.url, author_token) as author_ws:
        muted = await post_photo(client, author_token, jpeg(64, 48))
        # the author's devices get it in the same delivery as the fan's stream
        assert (await author_ws.next_of(FeedInsert)).post["post_id"] == muted["post_id"]
    await client.post(f"/api/users/{author['username']}/mute", headers=bearer(fan_token))
    shown = await post_photo(client, other_token, jpeg(64, 48))
    await settled_feed(client, fan_token, [shown["post_id"]])  # the muted author's left
    async with connect(live_server.url, fan_token, since=since) as resumed:
        assert resumed.hello.recovered is True
        replayed = await resumed.next_of(FeedInsert)  # the muted post's insert is skipped
        assert replayed.post["post_id"] == shown["post_id"]
