"""Login and register are rate limited per IP and per account name, from PIXTRIO_RATE_LIMITS."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.api import assert_error
from tests.support.server import ServerProcess

LIMITS = "register_ip=3/1h,login_account=2/5m,login_ip=5/5m"


def signup(name: str) -> dict[str, str]:
    return {"username": name, "email": f"{name}@example.com", "password": "correct horse"}


async def test_register_and_login_limits(data_dir: Path) -> None:
    with ServerProcess(data_dir, env={"PIXTRIO_RATE_LIMITS": LIMITS}) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            for name in ("r1", "r2", "r3"):
                assert (await client.post("/api/auth/register", json=signup(name))).status_code == 201
            refused = await client.post("/api/auth/register", json=signup("r4"))
            assert_error(refused, 429, "rate_limited")
            retry_after = int(refused.headers["Retry-After"])
            assert 0 < retry_after <= 3600 // 3 + 1
            assert (await client.get("/api/users/r4")).status_code == 404, "refused means not created"

            # per account: two attempts, right or wrong, then 429 even with the right password
            wrong = {"login": "r1", "password": "wrong password"}
            assert_error(await client.post("/api/auth/login", json=wrong), 401)
            assert (await client.post("/api/auth/login", json={"login": "R1", "password": "correct horse"})).status_code == 200
            # the same account by its email is the same account
            by_email = {"login": "r1@example.com", "password": "correct horse"}
            limited = await client.post("/api/auth/login", json=by_email)
            assert_error(limited, 429, "rate_limited")
            assert int(limited.headers["Retry-After"]) > 0

            # other accounts are still allowed until the per-IP limit (5) is spent
            assert (await client.post("/api/auth/login", json={"login": "r2", "password": "correct horse"})).status_code == 200
            assert (await client.post("/api/auth/login", json={"login": "r3", "password": "correct horse"})).status_code == 200
            assert_error(await client.post("/api/auth/login", json={"login": "r2", "password": "correct horse"}), 429)
