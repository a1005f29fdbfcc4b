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
    valkey = EmbeddedValkey.in_data_dir(data_dir, find_valkey_binary())
    process = await trio.lowlevel.open_process(valkey.command(), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)
    try:
        with trio.fail_after(20):
            await wait_until_answers(valkey.socket)
        async with open_redis(RedisAddress(unix_socket=str(valkey.socket))) as client:
            yield client
    finally:
        with trio.CancelScope(shield=True):
            process.terminate()
            await process.wait()
