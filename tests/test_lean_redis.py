"""The lean Redis client of the feed's hot read, against a real Valkey."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import coredis
import pytest
import trio

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.storage.redis.lean import LeanRedis, Script, connect_args, open_lean_redis
from pixtrio.testing.valkey import valkey_server

ECHO = Script("""
local x = 0
for i = 1, tonumber(ARGV[2] or '0') do x = x + i end
return {ARGV[1], redis.call('GET', KEYS[1]) or false, 7}
""")
"""Answers its argument and a key's value, after ARGV[2] turns of a busy loop."""


@pytest.fixture
async def address(tmp_path: Path) -> AsyncIterator[RedisAddress]:
    async with valkey_server(tmp_path) as where:
        yield where


async def test_a_script_is_loaded_once_and_answers_bytes(address: RedisAddress) -> None:
    async with open_redis(address) as redis, open_lean_redis(address) as lean:
        await redis.set("k", "v")
        assert await lean.run_script(ECHO, ["k"], ["a"]) == [b"a", b"v", 7]
        assert await redis.script_exists([ECHO.sha]) == (True,)
        assert await lean.run_script(ECHO, ["missing"], ["b"]) == [b"b", None, 7]


async def test_an_error_answer_is_a_storage_error_and_the_connection_stays_usable(
        address: RedisAddress) -> None:
    broken = Script("return redis.call('NOSUCHCOMMAND')")
    async with open_lean_redis(address) as lean:
        with pytest.raises(StorageError, match="redis"):
            await lean.run_script(broken, [], [])
        assert await lean.run_script(ECHO, ["k"], ["after"]) == [b"after", None, 7]


async def test_a_cancelled_call_never_hands_its_answer_to_the_next(address: RedisAddress) -> None:
    async with open_lean_redis(address) as lean:
        await lean.run_script(ECHO, ["k"], ["warm"])  # one idle connection in the pool
        with trio.move_on_after(0.05) as scope:
            await lean.run_script(ECHO, ["k"], ["slow", 30_000_000])
        assert scope.cancelled_caught
        assert await lean.run_script(ECHO, ["k"], ["next"]) == [b"next", None, 7]


async def test_a_connection_the_server_dropped_is_replaced(address: RedisAddress) -> None:
    async with open_redis(address) as redis, open_lean_redis(address) as lean:
        await lean.run_script(ECHO, ["k"], ["first"])
        await redis.client_kill(type_=coredis.PureToken.NORMAL, skipme=True)
        assert await lean.run_script(ECHO, ["k"], ["again"]) == [b"again", None, 7]


async def test_a_url_with_password_and_database(address: RedisAddress) -> None:
    assert address.unix_socket is not None
    put = Script("return redis.call('SET', KEYS[1], ARGV[1])")
    async with open_lean_redis(RedisAddress(url=f"unix://{address.unix_socket}?db=3")) as lean:
        await lean.run_script(put, ["k"], ["in three"])
    async with open_redis(address) as redis:
        await redis.config_set({"requirepass": "s3cret"})
    wrong = LeanRedis(RedisAddress(url=f"unix://:nope@{address.unix_socket}?db=3"))
    with pytest.raises(StorageError, match="WRONGPASS|invalid"):
        await wrong.run_script(ECHO, ["k"], ["x"])
    async with open_lean_redis(RedisAddress(url=f"unix://:s3cret@{address.unix_socket}?db=3")
                               ) as lean:
        assert await lean.run_script(ECHO, ["k"], ["x"]) == [b"x", b"in three", 7]


def test_the_database_may_be_in_the_path_or_the_query() -> None:
    for url in ("redis://h:1/4", "redis://h:1?db=4", "unix:///tmp/s.sock?db=4"):
        assert connect_args(RedisAddress(url=url))["hello"] == [["SELECT", "4"]], url
    assert connect_args(RedisAddress(url="rediss://u:p%40ss@h"))["hello"] == [
        ["AUTH", "u", "p@ss"]]


def test_an_unusable_url_is_refused_up_front() -> None:
    with pytest.raises(StorageError, match="scheme"):
        LeanRedis(RedisAddress(url="http://localhost:6379"))
    with pytest.raises(StorageError, match="database"):
        LeanRedis(RedisAddress(url="redis://localhost:6379/zero"))
