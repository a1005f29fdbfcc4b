"""Login and register are rate limited per IP, and failed sign-ins per (account, address)
and per account, from PIXTRIO_RATE_LIMITS."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from pixtrio.testing.server_process import ServerProcess
from tests.support.api import assert_error

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
