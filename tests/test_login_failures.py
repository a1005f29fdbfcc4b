"""Failed sign-ins counted in Redis (storage.redis.login_failures), against a real Valkey."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import coredis
import pytest
import trio

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.login_failures import MAX_ADDRESSES, Budget, LoginFailures
from pixtrio.testing.valkey import valkey_client

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[coredis.Redis[str]]:
    with trio.fail_after(30):
        async with valkey_client(tmp_path) as client:
            yield client


def failures(redis: coredis.Redis[str], *, per_address: int = 3, per_account: int = 5) -> LoginFailures:
    return LoginFailures(redis, per_address=Budget(per_address, HOUR_MS),
                         per_account=Budget(per_account, HOUR_MS), remember_ms=DAY_MS)


async def allowed(counter: LoginFailures, address: str, account: str = "u:1") -> bool:
    return (await counter.attempt(account, address)).wait_ms == 0


async def test_failures_are_counted_per_address_and_a_refusal_is_not(
        redis: coredis.Redis[str]) -> None:
    counter = failures(redis, per_address=3, per_account=100)
    assert [await allowed(counter, "10.0.0.1") for _ in range(4)] == [True, True, True, False]
    refused = await counter.attempt("u:1", "10.0.0.1")
    assert 0 < refused.wait_ms <= HOUR_MS // 3 and not refused.on_account
    assert await allowed(counter, "10.0.0.2"), "another address has its own budget"
    assert await allowed(counter, "10.0.0.1", account="u:2"), "and so has another account"
    state = float(await redis.get(keys.login_failures("u:1")) or 0)
    assert await allowed(counter, "10.0.0.3")
    assert float(await redis.get(keys.login_failures("u:1")) or 0) == pytest.approx(
        state + HOUR_MS / 100, abs=50), "refused attempts were not counted on the account"


async def test_a_success_clears_its_address_and_is_not_counted_on_the_account(
        redis: coredis.Redis[str]) -> None:
    counter = failures(redis, per_address=3, per_account=3)
    for _ in range(2):
        assert await allowed(counter, "10.0.0.1")
    right = await counter.attempt("u:1", "10.0.0.1")
    assert right.wait_ms == 0 and right.on_account
    await counter.succeeded(right)
    assert not await redis.exists([keys.login_failures_from("u:1", "10.0.0.1")])
    # the account holds the two failures only: one more from a new address fits, then none
    assert await allowed(counter, "10.0.0.2")
    assert not await allowed(counter, "10.0.0.3")
    # the address it signed in from is known, so its attempts go on (uncounted on the
    # account) until its own budget is spent
    known = [await counter.attempt("u:1", "10.0.0.1") for _ in range(4)]
    assert [a.wait_ms == 0 for a in known] == [True, True, True, False]
    assert not any(a.on_account for a in known)


async def test_an_address_is_forgotten_after_remember_ms(redis: coredis.Redis[str]) -> None:
    counter = failures(redis, per_address=10, per_account=1)
    await counter.succeeded(await counter.attempt("u:1", "10.0.0.1"))
    await counter.succeeded(await counter.attempt("u:1", "10.0.0.2"))
    assert 0 < await redis.pttl(keys.sign_in_addresses("u:1")) <= DAY_MS
    # 10.0.0.2 signed in just over a day ago
    now_ms = int(float(await redis.zscore(keys.sign_in_addresses("u:1"), "10.0.0.2") or 0))
    await redis.zadd(keys.sign_in_addresses("u:1"), {"10.0.0.2": now_ms - DAY_MS - 1})
    assert await allowed(counter, "10.0.0.9")  # spends the account's budget
    assert not await allowed(counter, "10.0.0.9")
    assert await allowed(counter, "10.0.0.1")
    assert not await allowed(counter, "10.0.0.2")


async def test_addresses_kept_per_account_are_bounded(redis: coredis.Redis[str]) -> None:
    counter = failures(redis, per_address=10, per_account=1000)
    for n in range(MAX_ADDRESSES + 5):
        await counter.succeeded(await counter.attempt("u:1", f"10.0.{n // 250}.{n % 250}"))
    kept = await redis.zrange(keys.sign_in_addresses("u:1"), 0, -1)
    assert len(kept) == MAX_ADDRESSES
    assert "10.0.0.0" not in kept and "10.0.0.104" in kept


async def test_rules_switched_off_never_refuse(redis: coredis.Redis[str]) -> None:
    counter = LoginFailures(redis, per_address=None, per_account=None, remember_ms=DAY_MS)
    attempts = [await counter.attempt("n:abc", "10.0.0.1") for _ in range(20)]
    assert all(a.wait_ms == 0 and not a.on_account for a in attempts)
    await counter.succeeded(attempts[-1])
    assert await redis.zrange(keys.sign_in_addresses("n:abc"), 0, -1) == ("10.0.0.1",)


def test_an_accounts_keys_share_its_hash_tag() -> None:
    for key in (keys.login_failures_from("u:7", "::1/128"), keys.login_failures("u:7"),
                keys.sign_in_addresses("u:7")):
        assert key[key.index("{"):key.index("}") + 1] == "{u:7}"
