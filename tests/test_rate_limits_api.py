"""Every write is rate limited, from PIXTRIO_RATE_LIMITS: login and register per client
address (behind PIXTRIO_TRUSTED_PROXIES, the forwarded one; IPv6 per /64), the rest per
account, with the X-RateLimit-* headers; failed sign-ins per (account, address) and per
account."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import trio

from pixtrio.testing.server_process import ServerProcess
from tests.support.api import assert_error, bearer, register
from tests.support.images import jpeg
from tests.support.posts import publish, settled, upload

LIMITS = "register_ip=3/1h,login_failures_address=2/5m,login_ip=5/5m"
RIGHT = "correct horse"


def signup(name: str) -> dict[str, str]:
    return {"username": name, "email": f"{name}@example.com", "password": RIGHT}


async def login_from(server: ServerProcess, host: int, login: str, password: str) -> httpx.Response:
    """Sign in from the loopback address 127.0.0.<host> (the server listens on 127.0.0.1)."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{host}")
    async with httpx.AsyncClient(base_url=server.url, transport=transport, timeout=30) as client:
        return await client.post("/api/auth/login", json={"login": login, "password": password})


async def test_register_and_login_limits(data_dir: Path) -> None:
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": LIMITS}) as server, trio.fail_after(120):
        async with httpx.AsyncClient(base_url=server.url) as client:
            for name in ("r1", "r2", "r3"):
                assert (await client.post("/api/auth/register", json=signup(name))).status_code == 201
            refused = await client.post("/api/auth/register", json=signup("r4"))
            assert_error(refused, 429, "rate_limited")
            retry_after = int(refused.headers["Retry-After"])
            assert 0 < retry_after <= 3600 // 3 + 1
            assert (await client.get("/api/users/r4")).status_code == 404, "refused means not created"

            # per account and address: two failures, by username or email alike, then 429
            # even with the right password
            assert_error(await client.post("/api/auth/login", json={"login": "r1", "password": "wrong password"}), 401)
            assert_error(await client.post("/api/auth/login", json={"login": "r1@example.com", "password": "wrong"}), 401)
            limited = await client.post("/api/auth/login", json={"login": "R1", "password": RIGHT})
            assert_error(limited, 429, "rate_limited")
            assert int(limited.headers["Retry-After"]) > 0

            # other accounts are still allowed until the per-IP limit (5) is spent
            assert (await client.post("/api/auth/login", json={"login": "r2", "password": RIGHT})).status_code == 200
            assert (await client.post("/api/auth/login", json={"login": "r3", "password": RIGHT})).status_code == 200
            assert_error(await client.post("/api/auth/login", json={"login": "r2", "password": RIGHT}), 429)


async def test_strangers_failing_do_not_lock_the_owner_out(data_dir: Path) -> None:
    """At the default rules: twenty wrong passwords from twenty addresses, then the right
    one from an address never used before signs in."""
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": ""}) as server, trio.fail_after(120):
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.post("/api/auth/register", json=signup("owner"))).status_code == 201
        for host in range(2, 22):
            assert_error(await login_from(server, host, "owner", "wrong password"), 401)
        assert (await login_from(server, 22, "owner", RIGHT)).status_code == 200


async def test_failures_are_limited_per_address(data_dir: Path) -> None:
    """At the default rules: five failures from an address, then even the right password
    from it is refused, alike for a right and a wrong one; another address signs in."""
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": ""}) as server, trio.fail_after(120):
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.post("/api/auth/register", json=signup("target"))).status_code == 201
        for _ in range(5):
            assert_error(await login_from(server, 2, "target", "wrong password"), 401)
        right = await login_from(server, 2, "target", RIGHT)
        wrong = await login_from(server, 2, "target", "wrong password")
        for refused in (right, wrong):
            assert_error(refused, 429, "rate_limited")
            assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60 // 5 + 1
        assert right.json()["error"]["message"].split(";")[0] == wrong.json()["error"]["message"].split(";")[0]
        assert (await login_from(server, 3, "target", RIGHT)).status_code == 200

        # a success is not a failure and clears its address's: four failures, a success,
        # then five more failures are still answered 401
        for password in ["wrong password"] * 4 + [RIGHT] + ["wrong password"] * 5:
            answer = await login_from(server, 4, "target", password)
            assert answer.status_code == (200 if password == RIGHT else 401), answer.text
        assert_error(await login_from(server, 4, "target", RIGHT), 429)


async def test_past_the_account_budget_only_known_addresses_sign_in(data_dir: Path) -> None:
    limits = "login_failures_account=3/1h"
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": limits}) as server, trio.fail_after(120):
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.post("/api/auth/register", json=signup("famous"))).status_code == 201
        assert (await login_from(server, 2, "famous", RIGHT)).status_code == 200
        for host in (3, 4, 5):
            assert_error(await login_from(server, host, "famous", "wrong password"), 401)
        refused = await login_from(server, 6, "famous", RIGHT)
        assert_error(refused, 429, "rate_limited")
        assert 0 < int(refused.headers["Retry-After"]) <= 3600 // 3 + 1
        assert (await login_from(server, 2, "famous", RIGHT)).status_code == 200
        assert (await login_from(server, 2, "famous@example.com", RIGHT)).status_code == 200

        # a name no account has is answered alike, so the answers tell no one it is free
        for host in (3, 4, 5):
            assert_error(await login_from(server, host, "nobody", "wrong password"), 401)
        assert_error(await login_from(server, 6, "nobody", RIGHT), 429, "rate_limited")


def assert_limited(answer: httpx.Response, limit: int, period_s: int) -> None:
    """A 429 of a rule of `limit` hits per `period_s`, with its headers."""
    assert_error(answer, 429, "rate_limited")
    assert 0 < int(answer.headers["Retry-After"]) <= period_s // limit + 1
    assert int(answer.headers["X-RateLimit-Limit"]) == limit
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert time.time() < int(answer.headers["X-RateLimit-Reset"]) <= time.time() + period_s + 1


def remaining(answer: httpx.Response) -> int:
    return int(answer.headers["X-RateLimit-Remaining"])


WRITE_LIMITS = ("posts=2/1h,comments=2/1h,likes=3/1h,follows=2/1d,uploads=3/30m,writes=3/1h,"
                "password_checks=2/1h")


async def test_every_write_is_limited_per_account(data_dir: Path) -> None:
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": WRITE_LIMITS}) as server, \
            trio.fail_after(180):
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            ann, ann_user = await register(client)
            bob, _ = await register(client)
            photo = jpeg(64, 48)

            # uploads: upload URLs; publishing: posts
            first, _ = await upload(client, ann, photo)
            second, _ = await upload(client, ann, photo)
            third, _ = await upload(client, ann, photo)
            assert_limited(await client.post("/api/posts/upload-url", headers=bearer(ann), json={
                "content_type": "image/jpeg", "size": len(photo)}), 3, 1800)
            await publish(client, ann, first)
            await publish(client, ann, second)
            assert_limited(await client.post(f"/api/posts/{third}/publish", headers=bearer(ann),
                                             json={}), 2, 3600)
            post = await settled(client, ann, first)
            assert post["status"] == "ready", post

            # the avatar PUT spends an upload too, with the headers on success
            avatar = await client.put("/api/me/avatar", headers=bearer(bob), content=photo)
            assert avatar.status_code == 200, avatar.text
            assert avatar.headers["X-RateLimit-Limit"] == "3" and remaining(avatar) == 2
            await upload(client, bob, photo)
            await upload(client, bob, photo)
            assert_limited(await client.put("/api/me/avatar", headers=bearer(bob), content=photo),
                           3, 1800)

            # likes: liking and unliking alike; another account has its own budget
            like = f"/api/posts/{post['post_id']}/like"
            answers = [await client.post(like, headers=bearer(bob)),
                       await client.delete(like, headers=bearer(bob)),
                       await client.post(like, headers=bearer(bob))]
            assert [a.status_code for a in answers] == [200, 200, 200]
            assert [remaining(a) for a in answers] == [2, 1, 0]
            assert_limited(await client.delete(like, headers=bearer(bob)), 3, 3600)
            assert (await client.post(like, headers=bearer(ann))).status_code == 200

            # comments
            comments = f"/api/posts/{post['post_id']}/comments"
            made = [await client.post(comments, headers=bearer(bob), json={"text": f"c{n}"})
                    for n in range(2)]
            assert [a.status_code for a in made] == [201, 201]
            assert_limited(await client.post(comments, headers=bearer(bob), json={"text": "c3"}),
                           2, 3600)

            # follows: following and unfollowing alike
            ann_url = f"/api/users/{ann_user['username']}/follow"
            assert (await client.post(ann_url, headers=bearer(bob))).status_code == 200
            assert (await client.delete(ann_url, headers=bearer(bob))).status_code == 200
            assert_limited(await client.post(ann_url, headers=bearer(bob)), 2, 86400)
            followers = (await client.get(f"/api/users/{ann_user['username']}")).json()
            assert followers["followers_count"] == 0, "refused means not done"

            # writes: profile edits, deletes, signing out
            edit = await client.patch("/api/me", headers=bearer(bob), json={"bio": "one"})
            assert edit.status_code == 200 and remaining(edit) == 2
            deleted = await client.delete(f"/api/comments/{made[0].json()['comment_id']}",
                                          headers=bearer(bob))
            assert deleted.status_code == 204 and remaining(deleted) == 1
            assert (await client.patch("/api/me", headers=bearer(bob), json={"bio": "three"})).status_code == 200
            assert_limited(await client.post("/api/auth/logout", headers=bearer(bob)), 3, 3600)
            assert (await client.get("/api/me", headers=bearer(bob))).status_code == 200
            assert (await client.delete(f"/api/posts/{second}", headers=bearer(ann))).status_code == 204

            # password_checks: guesses of the password by whoever holds a token
            guess = {"old_password": "not-the-one", "new_password": "another-password"}
            for _ in range(2):
                assert (await client.post("/api/me/password", headers=bearer(ann),
                                          json=guess)).status_code == 403
            assert_limited(await client.post("/api/me/password", headers=bearer(ann), json=guess),
                           2, 3600)
            assert_limited(await client.request("DELETE", "/api/me", headers=bearer(ann),
                                                json={"password": "guess"}), 2, 3600)


async def test_the_defaults_apply(data_dir: Path) -> None:
    """With PIXTRIO_RATE_LIMITS unset: each rule's default count is announced, and the 31st
    upload URL within half an hour is refused."""
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": ""}) as server, trio.fail_after(120):
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            token, user = await register(client)
            other, other_user = await register(client)
            me = bearer(token)
            announced = {
                "likes": await client.post("/api/posts/1/like", headers=me),
                "comments": await client.post("/api/posts/1/comments", headers=me, json={"text": "x"}),
                "posts": await client.post("/api/posts/1/publish", headers=me, json={}),
                "follows": await client.post(f"/api/users/{other_user['username']}/follow", headers=me),
                "writes": await client.patch("/api/me", headers=me, json={"bio": "hi"}),
                "login_ip": await client.post("/api/auth/login", json={
                    "login": user["username"], "password": RIGHT}),
            }
            assert {rule: int(a.headers["X-RateLimit-Limit"]) for rule, a in announced.items()} == {
                "likes": 300, "comments": 60, "posts": 50, "follows": 200, "writes": 100,
                "login_ip": 200}
            grant = {"content_type": "image/jpeg", "size": 1000}
            for n in range(30):
                answer = await client.post("/api/posts/upload-url", headers=me, json=grant)
                assert answer.status_code == 201 and remaining(answer) == 29 - n, answer.text
            assert_limited(await client.post("/api/posts/upload-url", headers=me, json=grant),
                           30, 1800)
            assert (await client.post("/api/posts/upload-url", headers=bearer(other),
                                      json=grant)).status_code == 201


async def test_a_rule_turned_off_is_not_counted(data_dir: Path) -> None:
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": "writes=off,likes=1/1h"}) as server, \
            trio.fail_after(60):
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            token, _ = await register(client)
            for n in range(5):
                answer = await client.patch("/api/me", headers=bearer(token), json={"bio": str(n)})
                assert answer.status_code == 200
                assert "X-RateLimit-Limit" not in answer.headers
            assert (await client.post("/api/posts/1/like", headers=bearer(token))).status_code == 404
            assert_limited(await client.post("/api/posts/1/like", headers=bearer(token)), 1, 3600)


async def register_from(client: httpx.AsyncClient, name: str, forwarded: str | None) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return await client.post("/api/auth/register", json=signup(name), headers=headers)


async def test_forwarded_addresses_count_only_from_trusted_proxies(data_dir: Path) -> None:
    """127.0.0.2 is the trusted proxy: what it forwards is the client (the right-most
    untrusted hop; an IPv6 client per /64, an IPv4-mapped one as IPv4); what anyone else
    forwards is ignored."""
    env = {"PIXTRIO_RATE_LIMITS": "register_ip=2/1h", "PIXTRIO_TRUSTED_PROXIES": "127.0.0.2/32, 10.0.0.0/8"}
    with ServerProcess(data_dir, env=env) as server, trio.fail_after(120):
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as direct, \
                httpx.AsyncClient(base_url=server.url, timeout=30, transport=httpx.AsyncHTTPTransport(
                    local_address="127.0.0.2")) as proxy:
            # untrusted peer: X-Forwarded-For ignored, all three count against 127.0.0.1
            assert (await register_from(direct, "d1", "203.0.113.1")).status_code == 201
            assert (await register_from(direct, "d2", "203.0.113.2")).status_code == 201
            assert_limited(await register_from(direct, "d3", "203.0.113.3"), 2, 3600)

            # trusted peer: the forwarded client counts, not the proxy
            assert (await register_from(proxy, "p1", "203.0.113.1")).status_code == 201
            assert (await register_from(proxy, "p2", "198.51.100.7, 203.0.113.1, 10.1.2.3")).status_code == 201
            assert_limited(await register_from(proxy, "p3", "::ffff:203.0.113.1"), 2, 3600)
            assert (await register_from(proxy, "p4", "203.0.113.2")).status_code == 201

            # IPv6: one /64 shares a budget, the next /64 has its own
            assert (await register_from(proxy, "v1", "2001:db8:0:1::1")).status_code == 201
            assert (await register_from(proxy, "v2", "2001:db8:0:1:ffff::2")).status_code == 201
            assert_limited(await register_from(proxy, "v3", "2001:db8:0:1::3"), 2, 3600)
            assert (await register_from(proxy, "v4", "2001:db8:0:2::1")).status_code == 201

            # without a header the proxy is the client itself
            assert (await register_from(proxy, "n1", None)).status_code == 201


async def test_an_ipv6_peer_is_limited_by_its_own_address(data_dir: Path) -> None:
    """A server on ::1: the IPv6 peer is the client (its /64), whatever it forwards."""
    env = {"PIXTRIO_HOST": "::1", "PIXTRIO_RATE_LIMITS": "register_ip=1/1h"}
    with ServerProcess(data_dir, env=env) as server, trio.fail_after(60):
        assert server.url.startswith("http://[::1]:")
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            first = await register_from(client, "six1", "2001:db8::1")
            assert first.status_code == 201 and remaining(first) == 0
            assert_limited(await register_from(client, "six2", "2001:db8:1::1"), 1, 3600)
