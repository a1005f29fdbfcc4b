"""Throwaway Valkey servers for tests: on a unix socket for tests without a Pixtrio server,
or on a TCP port as an external Redis a server process is pointed at. Each starts empty
with its id lease table settled (as a server's embedded Valkey does), so the servers and
leases of a test mint ids at once."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import coredis
import trio

from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.storage.redis.embedded import EmbeddedValkey, find_valkey_binary, wait_until_answers
from pixtrio.storage.redis.lean import LeanRedis, open_lean_redis
from pixtrio.storage.redis.leases import settle_new_lease_table


@asynccontextmanager
async def valkey_client(data_dir: Path) -> AsyncIterator[coredis.Redis[str]]:
    """A client of a fresh Valkey on a unix socket in `data_dir`, stopped on exit."""
    async with valkey_server(data_dir) as address, open_redis(address) as client:
        yield client


@asynccontextmanager
async def valkey_clients(data_dir: Path) -> AsyncIterator[tuple[coredis.Redis[str], LeanRedis]]:
    """Both clients (coredis and lean) of a fresh Valkey on a unix socket in `data_dir`,
    stopped on exit."""
    async with valkey_server(data_dir) as address, open_redis(address) as client, \
            open_lean_redis(address) as lean:
        yield client, lean


@asynccontextmanager
async def valkey_server(data_dir: Path) -> AsyncIterator[RedisAddress]:
    """A fresh Valkey on a unix socket in `data_dir` (its address), stopped on exit."""
    valkey = EmbeddedValkey.in_data_dir(data_dir, find_valkey_binary())
    process = await trio.lowlevel.open_process(valkey.command(), stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL)
    try:
        with trio.fail_after(20):
            await wait_until_answers(valkey.socket)
        address = RedisAddress(unix_socket=str(valkey.socket))
        async with open_redis(address) as client:
            await settle_new_lease_table(client)
        yield address
    finally:
        with trio.CancelScope(shield=True):
            process.terminate()
            await process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ExternalValkey:
    """A Valkey on a free loopback port: the external Redis a server process is pointed at
    (`PIXTRIO_REDIS_URL=<url>`). It can be killed and started again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._directory = directory
        self._process: trio.Process | None = None

    async def start(self) -> None:
        """Start it; returns once it accepts connections (fails after 20 s)."""
        self._directory.mkdir(parents=True, exist_ok=True)
        self._process = await trio.lowlevel.open_process(
            [find_valkey_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self._directory), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        with trio.fail_after(20):
            while True:
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", self.port)
                except OSError:
                    await trio.sleep(0.05)
                    continue
                await stream.aclose()
                return

    async def kill(self) -> None:
        """SIGKILL it (its data is gone: it keeps none) and wait for it to exit."""
        if self._process is not None:
            self._process.kill()
            await self._process.wait()


@asynccontextmanager
async def external_valkey(directory: Path) -> AsyncIterator[ExternalValkey]:
    """An `ExternalValkey`, started (its lease table settled), and killed on exit."""
    valkey = ExternalValkey(directory)
    try:
        await valkey.start()
        async with open_redis(RedisAddress(url=valkey.url)) as client:
            await settle_new_lease_table(client)
        yield valkey
    finally:
        with trio.CancelScope(shield=True):
            await valkey.kill()
