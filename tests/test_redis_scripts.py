"""Each Lua script of storage/redis/scripts on its own, against a real Valkey: the keys
it is handed (all of one slot) are the only ones it touches."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import coredis
import pytest

from pixtrio.storage.redis.lean import LeanRedis, Script, slot_of
from pixtrio.storage.redis.scripts import source
from pixtrio.testing.valkey import valkey_clients

Clients = tuple[coredis.Redis[str], LeanRedis]


@pytest.fixture
async def clients(tmp_path: Path) -> AsyncIterator[Clients]:
    async with valkey_clients(tmp_path) as opened:
        yield opened


async def run(lean: LeanRedis, names: tuple[str, ...], keys: list[str], args: list[Any]) -> Any:
    assert len({slot_of(k) for k in keys}) <= 1, "a script's keys share one slot"
    return await lean.run_script(Script(source(*names)), keys, args)


TESTED = {"gcra", "login_attempt", "login_succeeded", "events_append",
          "events_keep", "events_resume", "mirror_changed", "mirror_rebuild", "cache_fill",
          "cache_changed", "feed_viewer", "feed_recent", "lease_take", "lease_renew",
          "lease_release", "lease_settle"}


def test_every_script_has_tests_here_and_builds_no_key_names() -> None:
    scripts = [f for f in files("pixtrio.storage.redis.scripts").iterdir()
               if f.name.endswith(".lua")]
    assert {f.name.removesuffix(".lua") for f in scripts
            if not f.name.endswith(".part.lua")} == TESTED
    for script in scripts:
        text = script.read_text()
        assert "string.format(" not in text.replace("string.format('%d'", "")


async def test_gcra_allows_the_limit_then_says_how_long_to_wait(clients: Clients) -> None:
    redis, lean = clients
    key = "px:rl:{a:1.2.3.4}:login"
    allowed = [await run(lean, ("gcra",), [key], [2, 60_000]) for _ in range(2)]
    assert [(wait, left) for wait, left, _ in allowed] == [(0, 1), (0, 0)]
    assert 0 < allowed[0][2] <= 30_000 < allowed[1][2] <= 60_000  # until all is back
    wait, left, reset = await run(lean, ("gcra",), [key], [2, 60_000])
    assert 0 < wait <= 30_000 and left == 0 and wait < reset <= 60_000
    state = await redis.get(key)
    assert (await run(lean, ("gcra",), [key], [2, 60_000]))[0] > 0
    assert await redis.get(key) == state  # a refused hit is not counted


LOGIN = ["px:lf:{u:9}:1.2.3.4", "px:lf:{u:9}", "px:signins:{u:9}"]


async def test_login_attempts_spend_both_budgets_and_a_success_refunds(clients: Clients) -> None:
    redis, lean = clients
    attempt = ("clock.part", "login_attempt")
    args = [1, 60_000, 1, 60_000, "1.2.3.4", 600_000]
    assert await run(lean, attempt, LOGIN, args) == [0, 1]
    wait, counted = await run(lean, attempt, LOGIN, args)
    assert wait > 0 and counted == 0
    await run(lean, ("clock.part", "login_succeeded"), LOGIN, [60_000, "1.2.3.4", 600_000, 100])
    assert await redis.exists([LOGIN[0], LOGIN[1]]) == 0  # budget dropped and refunded
    assert await redis.zscore(LOGIN[2], "1.2.3.4") is not None  # a known address now
    assert await run(lean, attempt, LOGIN, args) == [0, 1]


async def test_events_append_writes_only_existing_streams_and_trims(clients: Clients) -> None:
    redis, lean = clients
    key = "px:ev:{u:3}"
    assert await run(lean, ("events_append",), [key], [3, "e0", 1]) == [b""]
    assert not await redis.exists([key])
    await redis.xadd(key, {"o": "1"})
    ids = [(await run(lean, ("events_append",), [key], [3, f"e{n}", 1]))[0] for n in range(6)]
    assert all(ids) and await redis.xlen(key) <= 4
    assert [e.field_values["e"] for e in await redis.xrange(key)][-1] == "e5"


async def test_events_keep_creates_missing_streams_and_drops_old_events(clients: Clients) -> None:
    redis, lean = clients
    key = "px:ev:{u:4}"
    assert await run(lean, ("stream_create.part", "events_keep"), [key], [60]) == 1
    assert await redis.exists([key]) and await redis.xlen(key) == 0
    assert 0 < await redis.ttl(key) <= 60
    online = "px:ev:{u:14}"
    await redis.xadd(online, {"e": "old"}, identifier="1-1")
    await redis.xadd(online, {"e": "new"})
    await run(lean, ("stream_create.part", "events_keep"), [online], [60])
    assert [e.field_values["e"] for e in await redis.xrange(online)] == ["new"]


async def test_events_resume_reads_after_a_position(clients: Clients) -> None:
    redis, lean = clients
    key, resume = "px:ev:{u:5}", ("stream_create.part", "events_resume")
    assert await run(lean, resume, [key], [60, "0-1", 10]) is None  # created: nothing to recover
    assert await redis.exists([key])
    first = await redis.xadd(key, {"e": "one"})
    await redis.xadd(key, {"e": "two"})
    deleted, last, entries = await run(lean, resume, [key], [60, str(first), 10])
    assert deleted != b"0-0" and last > str(first).encode()  # the creation left its mark
    assert [fields for _, fields in entries] == [[b"e", b"two"]]


async def test_mirror_changed_bumps_the_version_and_updates_a_built_set(clients: Clients) -> None:
    redis, lean = clients
    keys_ = ["px:following:{u:6}", "px:following:{u:6}:ver"]
    await run(lean, ("mirror_changed",), keys_, ["1", 60, "42"])
    assert await redis.get(keys_[1]) == "1" and not await redis.exists([keys_[0]])
    await redis.sadd(keys_[0], ["0"])
    await run(lean, ("mirror_changed",), keys_, ["1", 60, "42"])
    await run(lean, ("mirror_changed",), keys_, ["0", 60, "0"])
    assert await redis.smembers(keys_[0]) == {"42"} and await redis.get(keys_[1]) == "3"


async def test_mirror_rebuild_lands_only_on_the_version_seen(clients: Clients) -> None:
    redis, lean = clients
    keys_ = ["px:liked:{u:7}", "px:liked:{u:7}:ver"]
    assert await run(lean, ("mirror_rebuild",), keys_, ["", 60, "0", "1", "2"]) == 1
    assert await redis.smembers(keys_[0]) == {"0", "1", "2"}
    await redis.incr(keys_[1])
    assert await run(lean, ("mirror_rebuild",), keys_, ["", 60, "0"]) == 0
    assert await redis.smembers(keys_[0]) == {"0", "1", "2"}


async def test_cache_fill_only_on_the_generation_seen_and_never_over_a_value(
        clients: Clients) -> None:
    redis, lean = clients
    keys_ = ["px:post:{p:8}", "px:post:{p:8}:gen"]
    await redis.set(keys_[1], "4")
    assert await run(lean, ("cache_fill",), keys_, ["3", "stale", 60]) == 0
    assert await run(lean, ("cache_fill",), keys_, ["4", "fresh", 60]) == 1
    assert await run(lean, ("cache_fill",), keys_, ["4", "other", 60]) == 0
    assert await redis.get(keys_[0]) == "fresh"


async def test_cache_changed_bumps_the_generation_and_keeps_a_tombstone(clients: Clients) -> None:
    """Generations never repeat: the first starts from the clock in microseconds, so one
    that expired comes back above every value it had."""
    redis, lean = clients
    keys_ = ["px:post:{p:9}", "px:post:{p:9}:gen"]
    before_us = int(time.time() * 1_000_000)
    await run(lean, ("cache_changed",), keys_, ["v1", 60, "deleted"])
    first = int(await redis.get(keys_[1]) or 0)
    assert await redis.get(keys_[0]) == "v1" and before_us - 5_000_000 < first
    await run(lean, ("cache_changed",), keys_, ["deleted", 60, "deleted"])
    await run(lean, ("cache_changed",), keys_, ["v2", 60, "deleted"])
    assert await redis.get(keys_[0]) == "deleted" and int(await redis.get(keys_[1]) or 0) == first + 2
    await redis.delete([keys_[1]])  # the generation expired
    await run(lean, ("cache_changed",), keys_, ["deleted", 60, "deleted"])
    assert int(await redis.get(keys_[1]) or 0) > first + 2


VIEWER = ["px:timeline:{u:10}", "px:following:{u:10}", "px:liked:{u:10}", "px:toks:{u:10}"]
SENTINEL = "0" * 20


def m(n: int) -> str:
    return f"{n:020d}"


async def test_feed_viewer_reads_the_timeline_and_the_followed_pulled_authors(
        clients: Clients) -> None:
    redis, lean = clients
    script = ("feed_below.part", "feed_viewer")
    head = [0, "", 2, 300, "0", SENTINEL, ""]
    assert await run(lean, script, VIEWER, head) == [0, 0, 0]
    await redis.sadd(VIEWER[1], ["0", "77", "78"])
    await redis.sadd(VIEWER[2], ["0"])
    await redis.sadd(VIEWER[3], ["abc"])
    await redis.zadd(VIEWER[0], {SENTINEL: -1, m(1): 1, m(2): 2, m(3): 3, m(4): 3})
    built, ids, pulled = (await run(lean, script, VIEWER, [*head[:6], 30, "77", "79"]))[1:]
    assert built == 1 and ids == [m(4).encode(), m(3).encode()] and pulled == [b"77"]
    for key in VIEWER[:3]:
        assert 0 < await redis.ttl(key) <= 300
    assert 0 < await redis.ttl(VIEWER[3]) <= 30
    _, built, ids, pulled = await run(lean, script, VIEWER, [3, m(4), *head[2:]])
    assert ids == [m(3).encode(), m(2).encode()] and pulled == []


async def test_feed_recent_reads_below_a_position_and_says_if_built(clients: Clients) -> None:
    redis, lean = clients
    script, key = ("feed_below.part", "feed_recent"), "px:recent:{u:11}"
    await redis.zadd(key, {m(5): 5, m(6): 6})
    assert await run(lean, script, [key], [6, m(6), 5, SENTINEL]) == [0, [m(5).encode()]]
    await redis.zadd(key, {SENTINEL: -1})
    assert await run(lean, script, [key], [0, "", 5, SENTINEL]) == [1, [m(6).encode(),
                                                                        m(5).encode()]]


LEASE = ["px:{ids}:worker:5", "px:{ids}:epoch"]
TAKE, RENEW = ("clock.part", "lease_wait.part", "lease_take"), ("clock.part", "lease_wait.part", "lease_renew")


async def test_lease_take_sets_the_epoch_once_and_waits_for_it(clients: Clients) -> None:
    redis, lean = clients
    await redis.flushall()  # the fixture settled the table, as a server's own Valkey does
    assert await run(lean, TAKE, LEASE, ["a", 30_000]) == 30_000  # a new table: wait it out
    epoch = await redis.get(LEASE[1])
    assert await run(lean, TAKE, LEASE, ["b", 30_000]) == -1  # held by a
    await redis.delete([LEASE[0]])
    assert 0 < await run(lean, TAKE, LEASE, ["b", 30_000]) <= 30_000
    assert await redis.get(LEASE[1]) == epoch  # the epoch is set once
    await redis.set(LEASE[1], "0")  # an old epoch: no wait
    await redis.delete([LEASE[0]])
    assert await run(lean, TAKE, LEASE, ["c", 30_000]) == 0
    assert await redis.get(LEASE[0]) == "c" and 0 < await redis.pttl(LEASE[0]) <= 30_000


async def test_lease_renew_extends_its_own_retakes_a_lost_one_and_never_makes_an_epoch(
        clients: Clients) -> None:
    redis, lean = clients
    await redis.delete([LEASE[1]])  # no epoch: a lost table
    await redis.set(LEASE[0], "a", px=1_000)
    assert await run(lean, RENEW, LEASE, ["a", 30_000]) == 0
    assert await redis.pttl(LEASE[0]) > 1_000  # extended
    assert await run(lean, RENEW, LEASE, ["b", 30_000]) == -1  # not b's
    await redis.delete([LEASE[0]])
    assert await run(lean, RENEW, LEASE, ["a", 30_000]) == 30_000  # lost, no epoch: wait it all
    assert await redis.get(LEASE[0]) == "a" and not await redis.exists([LEASE[1]])


async def test_lease_release_deletes_only_its_holders_key(clients: Clients) -> None:
    redis, lean = clients
    await redis.set(LEASE[0], "a")
    assert await run(lean, ("lease_release",), [LEASE[0]], ["b"]) == 0
    assert await run(lean, ("lease_release",), [LEASE[0]], ["a"]) == 1
    assert not await redis.exists([LEASE[0]])


async def test_lease_settle_marks_only_an_empty_redis(clients: Clients) -> None:
    redis, lean = clients
    await redis.flushall()
    assert await run(lean, ("clock.part", "lease_settle"), [LEASE[1]], [30_000]) == 1
    assert await run(lean, TAKE, LEASE, ["a", 30_000]) == 0  # settled: mint at once
    await redis.delete([LEASE[1]])
    assert await run(lean, ("clock.part", "lease_settle"), [LEASE[1]], [30_000]) == 0  # a key exists
    assert not await redis.exists([LEASE[1]])
