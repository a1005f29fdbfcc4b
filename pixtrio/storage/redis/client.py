"""Opening the coredis client on trio (of one server or a Redis Cluster), and mapping its
errors to storage errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import cast

import coredis
from coredis.exceptions import RedisError

from pixtrio.storage.errors import StorageError

Redis = coredis.Redis


@dataclass(frozen=True)
class RedisAddress:
    """Where a Redis-protocol server listens: a `redis://` URL or a unix socket path."""

    url: str | None = None
    unix_socket: str | None = None

    def describe(self) -> str:
        return self.url or f"unix:{self.unix_socket}"


@asynccontextmanager
async def open_redis(address: RedisAddress, *,
                     cluster: bool = False) -> AsyncIterator[coredis.Redis[str]]:
    """A connected client (decoded strings) that is closed when the block exits. With
    `cluster`, `address.url` names any node of a Redis Cluster: the client discovers the
    slot map and follows MOVED and ASK.

    Raises `StorageError` when the server does not answer PING.
    """
    if cluster:
        if not address.url:
            raise StorageError("redis: a cluster is named by a redis:// or rediss:// URL")
        # RedisCluster answers the same commands, pipelines, scripts and pub/sub as Redis
        client: coredis.Redis[str] = cast(coredis.Redis[str], coredis.RedisCluster.from_url(
            address.url, decode_responses=True))
    elif address.url:
        client = coredis.Redis.from_url(address.url, decode_responses=True)
    else:
        client = coredis.Redis(unix_socket_path=address.unix_socket, decode_responses=True)
    async with client:
        try:
            await client.ping()
        except RedisError as exc:
            raise StorageError(f"redis at {address.describe()}: {exc}") from None
        yield client


async def ping(client: coredis.Redis[str]) -> None:
    """Return once Redis answers; raise `StorageError` if it does not."""
    try:
        await client.ping()
    except RedisError as exc:
        raise StorageError(f"redis: {exc}") from None


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn a Redis client error raised inside the block into `StorageError`."""
    try:
        yield
    except RedisError as exc:
        raise StorageError(f"redis: {exc}") from None
