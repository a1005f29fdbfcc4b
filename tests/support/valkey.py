"""A throwaway Valkey for tests that use Redis without a Pixtrio server."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import coredis
import trio

from storage.redis.client import RedisAddress, open_redis
from storage.redis.embedded import EmbeddedValkey, find_valkey_binary, wait_until_answers


@asynccontextmanager
async def valkey_client(data_dir: Path) -> AsyncIterator[coredis.Redis[str]]:
    """A client of a fresh Valkey on a unix socket in `data_dir`, stopped on exit."""
    async with valkey_server(data_dir) as address, open_redis(address) as client:
        yield client


@asynccontextmanager
async def valkey_server(data_dir: Path) -> AsyncIterator[RedisAddress]:
    """A fresh Valkey on a unix socket in `data_dir` (its address), stopped on exit."""
    valkey = EmbeddedValkey.in_data_dir(data_dir, find_valkey_binary())
    process = await trio.lowlevel.open_process(valkey.command(), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)
    try:
        with trio.fail_after(20):
            await wait_until_answers(valkey.socket)
        yield RedisAddress(unix_socket=str(valkey.socket))
    finally:
        with trio.CancelScope(shield=True):
            process.terminate()
            await process.wait()
