"""Throwaway Valkey servers for tests: on a unix socket for tests without a Pixtrio server,
or on a TCP port as an external Redis a server process is pointed at."""

from __future__ import annotations

import socket
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_valkey(port: int, directory: Path) -> subprocess.Popen[bytes]:
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [find_valkey_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
