"""Account safety through the API of real servers: changing the password, listing and
revoking sessions, and deleting an account with every trace of it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from pixtrio.protocol.messages import CloseCode, Ping, Pong
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.testing.server_process import ServerProcess, two_servers, wait_until
from tests.support.api import assert_error, bearer, register
from tests.support.images import jpeg, png
from tests.support.posts import post_photo
from tests.support.ws import connect

pytestmark = pytest.mark.slow

PASSWORD = "correct horse"


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD,
                user_agent: str = "test-agent") -> httpx.Response:
    return await client.post("/api/auth/login", json={"login": username, "password": password},
                             headers={"User-Agent": user_agent})


async def sign_in(client: httpx.AsyncClient, username: str, user_agent: str = "test-agent") -> str:
    response = await login(client, username, user_agent=user_agent)
    assert response.status_code == 200, response.text
    return response.json()["token"]  # type: ignore[no-any-return]


async def test_changing_the_password_signs_out_every_other_session(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    token, user = await register(client)
    other, third = await sign_in(client, user["username"]), await sign_in(client, user["username"])
    async with connect(live_server.url, token) as kept, connect(live_server.url, other) as doomed:
        wrong = await client.post("/api/me/password", headers=bearer(token),
                                  json={"old_password": "not it at all", "new_password": "n3w pass!"})
        assert_error(wrong, 403, "wrong_password")
        short = await client.post("/api/me/password", headers=bearer(token),
                                  json={"old_password": PASSWORD, "new_password": "short"})
        assert_error(short, 422)
        assert (await client.get("/api/me", headers=bearer(other))).status_code == 200

        changed = await client.post("/api/me/password", headers=bearer(token),
                                    json={"old_password": PASSWORD, "new_password": "n3w pass!"})
        assert changed.status_code == 204, changed.text
        assert await doomed.closed_with(within=1) == CloseCode.UNAUTHENTICATED
        await kept.send(Ping())
        assert isinstance(await kept.next_of(Pong), Pong)
    assert (await client.get("/api/me", headers=bearer(token))).status_code == 200
    for revoked in (other, third):
        assert_error(await client.get("/api/me", headers=bearer(revoked)), 401, "invalid_token")
    assert_error(await login(client, user["username"]), 401, "invalid_credentials")
    assert (await login(client, user["username"], "n3w pass!")).status_code == 200


async def test_sessions_are_listed_and_revoked_one_by_one(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    _, user = await register(client)
    first = await sign_in(client, user["username"], user_agent="phone/1.0")
    second = await sign_in(client, user["username"], user_agent="laptop/2.0")
    stranger_token, _ = await register(client)

    listed = await client.get("/api/me/sessions", headers=bearer(first))
    assert listed.status_code == 200, listed.text
    sessions = listed.json()["sessions"]
    assert len(sessions) == 3  # register's token, then the two sign-ins, newest first
    assert [s["user_agent"] for s in sessions[:2]] == ["laptop/2.0", "phone/1.0"]
    assert [s["current"] for s in sessions] == [False, True, False]
    for session in sessions:
        assert set(session) == {"session_id", "created_at", "last_used_at", "user_agent", "ip",
                                "current"}
        assert session["ip"] == "127.0.0.1"
        assert session["session_id"].isascii() and session["session_id"].isalnum()
        assert session["session_id"] not in (first, second)
        assert session["created_at"].endswith("Z") and session["last_used_at"].endswith("Z")
    laptop = sessions[0]["session_id"]

    # someone else's session, or no session at all, is simply not found
    for who, session_id in ((stranger_token, laptop), (first, "0123abcd"), (first, "x%21y")):
        assert_error(await client.delete(f"/api/me/sessions/{session_id}", headers=bearer(who)),
                     404, "not_found")
    assert (await client.get("/api/me", headers=bearer(second))).status_code == 200

    async with connect(live_server.url, second) as doomed, connect(live_server.url, first) as kept:
        revoked = await client.delete(f"/api/me/sessions/{laptop}", headers=bearer(first))
        assert revoked.status_code == 204, revoked.text
        assert await doomed.closed_with(within=1) == CloseCode.UNAUTHENTICATED
        await kept.send(Ping())
        assert isinstance(await kept.next_of(Pong), Pong)
    assert_error(await client.get("/api/me", headers=bearer(second)), 401, "invalid_token")
    assert_error(await client.delete(f"/api/me/sessions/{laptop}", headers=bearer(first)), 404)
    remaining = (await client.get("/api/me/sessions", headers=bearer(first))).json()["sessions"]
    assert laptop not in {s["session_id"] for s in remaining} and len(remaining) == 2


async def test_a_deleted_account_is_gone_at_once_and_every_trace_of_it_soon(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    """A user with an avatar, posts, likes, comments, followers and followings deletes
    their account: it is gone at once, and within the test's minute so is everything of
    it: other users' counters, feeds, comment lists, the blobs, the store, Redis."""
    doomed_token, doomed = await register(client)
    friend_token, friend = await register(client)
    fan_token, fan = await register(client)
    doomed_id = int(doomed["user_id"])
    name = doomed["username"]

    avatar = await client.put("/api/me/avatar", headers={**bearer(doomed_token),
                                                          "Content-Type": "image/png"},
                              content=png(64, 64))
    assert avatar.status_code == 200, avatar.text
    mine = [await post_photo(client, doomed_token, jpeg(64, 48), caption=f"mine {n}")
            for n in range(2)]
    theirs = await post_photo(client, friend_token, jpeg(64, 48), caption="the friend's")
    for follower, followee in ((friend_token, name), (fan_token, name),
                               (doomed_token, friend["username"])):
        followed = await client.post(f"/api/users/{followee}/follow", headers=bearer(follower))
        assert followed.status_code == 200
    for token in (doomed_token, fan_token):
        await client.post(f"/api/posts/{theirs['post_id']}/like", headers=bearer(token))
    for text in ("first!", "second"):
        await client.post(f"/api/posts/{theirs['post_id']}/comments", headers=bearer(doomed_token),
                          json={"text": text})
    kept_comment = (await client.post(f"/api/posts/{theirs['post_id']}/comments",
                                      headers=bearer(fan_token), json={"text": "stays"})).json()
    await client.post(f"/api/posts/{mine[0]['post_id']}/like", headers=bearer(friend_token))
    await client.post(f"/api/posts/{mine[0]['post_id']}/comments", headers=bearer(friend_token),
                      json={"text": "on a post that goes"})
    feed = (await client.get("/api/feed", headers=bearer(friend_token))).json()["posts"]
    assert {p["post_id"] for p in mine} <= {p["post_id"] for p in feed}
    media = live_server.data_dir / "media"
    assert list((media / "a" / str(doomed_id)).rglob("*.*"))
    assert all(list((media / "p" / p["post_id"]).rglob("*.*")) for p in mine)

    async with connect(live_server.url, doomed_token) as ws:
        wrong = await client.request("DELETE", "/api/me", headers=bearer(doomed_token),
                                     json={"password": "not my password"})
        assert_error(wrong, 403, "wrong_password")
        assert (await client.get(f"/api/users/{name}")).status_code == 200
        deleted = await client.request("DELETE", "/api/me", headers=bearer(doomed_token),
                                       json={"password": PASSWORD})
        assert deleted.status_code == 204, deleted.text
        assert await ws.closed_with(within=1) == CloseCode.UNAUTHENTICATED

    # gone at once
    assert_error(await client.get("/api/me", headers=bearer(doomed_token)), 401, "invalid_token")
    assert_error(await login(client, name), 401, "invalid_credentials")
    assert_error(await client.get(f"/api/users/{name}"), 404)

    # and everything of it soon
    async def user(username: str) -> dict[str, Any]:
        return (await client.get(f"/api/users/{username}")).json()  # type: ignore[no-any-return]

    async def traces_gone() -> bool:
        post = (await client.get(f"/api/posts/{theirs['post_id']}",
                                 headers=bearer(fan_token))).json()
        friend_now = await user(friend["username"])
        return (post["like_count"], post["comment_count"]) == (1, 1) and \
            (friend_now["followers_count"], friend_now["following_count"]) == (0, 0) and \
            (await user(fan["username"]))["following_count"] == 0 and \
            not (media / "a" / str(doomed_id)).exists() and \
            not any((media / "p" / p["post_id"]).exists() for p in mine)

    await wait_until(traces_gone, "the deleted account's traces to go", within=60)
    for post in mine:
        assert_error(await client.get(f"/api/posts/{post['post_id']}",
                                      headers=bearer(friend_token)), 404)
    comments = (await client.get(f"/api/posts/{theirs['post_id']}/comments",
                                 headers=bearer(fan_token))).json()["comments"]
    assert [c["comment_id"] for c in comments] == [kept_comment["comment_id"]]
    for token in (friend_token, fan_token):
        feed = (await client.get("/api/feed", headers=bearer(token))).json()["posts"]
        assert not {p["post_id"] for p in mine} & {p["post_id"] for p in feed}
        assert all(p["author"]["user_id"] != doomed["user_id"] for p in feed)
    for listing in ("followers", "following"):
        users = (await client.get(f"/api/users/{friend['username']}/{listing}")).json()["users"]
        assert users == []
    assert not any((media / "o" / p["post_id"]).exists() for p in mine)
    assert_store_forgot(live_server.data_dir / "metadata.db", doomed_id,
                        [int(p["post_id"]) for p in mine])
    await assert_redis_forgot(live_server, doomed_id)

    # the name is free again, for a new account with nothing of the old one
    again_token, again = await register(client, name)
    assert again["user_id"] != doomed["user_id"]
    assert (again["posts_count"], again["followers_count"], again["following_count"]) == (0, 0, 0)
    assert (await client.get(f"/api/users/{name}/posts")).json()["posts"] == []
    sessions = (await client.get("/api/me/sessions", headers=bearer(again_token))).json()
    assert len(sessions["sessions"]) == 1


def assert_store_forgot(path: Path, user_id: int, post_ids: list[int]) -> None:
    """No row of the metadata store names the user or their posts."""
    c = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        checks = {
            "users": ("user_id = ?", user_id), "tokens": ("user_id = ?", user_id),
            "token_sessions": ("user_id = ?", user_id), "posts": ("author_id = ?", user_id),
            "comments": ("author_id = ?", user_id), "likes": ("user_id = ?", user_id),
            "follows": ("follower_id = ?1 OR followee_id = ?1", user_id),
        }
        for table, (where, value) in checks.items():
            count = c.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", (value,)).fetchone()[0]
            assert count == 0, table
        for post_id in post_ids:
            for table in ("likes", "comments", "post_hashtags"):
                count = c.execute(f"SELECT COUNT(*) FROM {table} WHERE post_id = ?",
                                  (post_id,)).fetchone()[0]
                assert count == 0, table
    finally:
        c.close()


async def assert_redis_forgot(server: ServerProcess, user_id: int) -> None:
    """None of the user's own Redis keys is left."""
    socket = next(e["redis"] for e in server.log_entries() if "redis" in e)
    address = RedisAddress(url="unix://" + socket.split("unix:", 1)[1])
    async with open_redis(address) as redis:
        own = [keys.timeline(user_id), keys.author_recent(user_id), keys.following(user_id),
               keys.following_version(user_id), keys.liked(user_id), keys.liked_version(user_id),
               keys.events(user_id), keys.session_tokens_of(user_id)]
        with trio.fail_after(10):
            assert await redis.exists(own) == 0
            assert not await redis.sismember(keys.celebrities(), str(user_id))


async def test_the_routes_are_documented(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    expected = {
        ("/api/me/password", "post"): {"204", "400", "401", "403", "413", "422", "429", "503"},
        ("/api/me", "delete"): {"204", "400", "401", "403", "413", "422", "429", "503"},
        ("/api/me/sessions", "get"): {"200", "401", "503"},
        ("/api/me/sessions/{session_id}", "delete"): {"204", "401", "404", "429", "503"},
    }
    for (path, method), statuses in expected.items():
        operation = paths[path][method]
        assert set(operation["responses"]) == statuses, path
        assert operation["security"] == [{"bearer": []}], path
    assert "requestBody" in paths["/api/me/password"]["post"]
    assert "requestBody" in paths["/api/me"]["delete"]


async def test_revocations_close_sockets_held_by_another_process(tmp_path: Path) -> None:
    """A password change and an account deletion made through one process close the
    sockets another process holds (the bus's revoke message)."""
    data = tmp_path / "data"
    with two_servers(data) as (first, second):
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as one:
            token, user = await register(one)
            other = await sign_in(one, user["username"])
            async with connect(second.url, other) as doomed, \
                    connect(second.url, token) as kept:
                changed = await one.post("/api/me/password", headers=bearer(token), json={
                    "old_password": PASSWORD, "new_password": "n3w pass!"})
                assert changed.status_code == 204
                assert await doomed.closed_with(within=1) == CloseCode.UNAUTHENTICATED
                await kept.send(Ping())
                assert isinstance(await kept.next_of(Pong), Pong)
                deleted = await one.request("DELETE", "/api/me", headers=bearer(token),
                                            json={"password": "n3w pass!"})
                assert deleted.status_code == 204
                assert await kept.closed_with(within=1) == CloseCode.UNAUTHENTICATED
