"""The event bus's subscriber side: one Redis pub/sub connection per process.

A `Subscription` subscribes channels (waiting for Redis to acknowledge), unsubscribes
them without waiting, and hands out what arrives as `BusMessage`s, acknowledgements
included: a channel acknowledged twice was resubscribed after the connection was lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal, cast

import coredis
from coredis.exceptions import RedisError

from pixtrio.storage.errors import StorageError

Kind = Literal["message", "subscribe", "unsubscribe"]

_KINDS: dict[str, Kind] = {
    "message": "message", "subscribe": "subscribe", "unsubscribe": "unsubscribe",
    "ssubscribe": "subscribe", "sunsubscribe": "unsubscribe",  # sharded
}


@dataclass(frozen=True)
class BusMessage:
    """A message published on `channel` (kind "message", `data` its text), or Redis's
    acknowledgement that `channel` is now subscribed or unsubscribed (`data` empty)."""

    kind: Kind
    channel: str
    data: str


class Subscription:
    """The process's subscriber connection; opened by `Bus.subscription`."""

    def __init__(self, pubsub: Any) -> None:
        self._pubsub = pubsub

    async def subscribe(self, channel: str) -> None:
        """Subscribe `channel`; returns once Redis acknowledged it. Raises `StorageError`
        when no acknowledgement comes in time. Cancelled, the channel may still end up
        subscribed (unsubscribe it)."""
        try:
            await self._pubsub.subscribe(channel)
        except (RedisError, TimeoutError) as exc:
            raise StorageError(f"redis: could not subscribe: {exc}") from None

    def unsubscribe_nowait(self, channel: str) -> None:
        """Ask Redis to unsubscribe `channel`, without waiting for its acknowledgement.
        The request goes out on the connection in order, after any earlier subscribe."""
        self._pubsub._unsubscribe(channel)  # coredis's public unsubscribe waits

    async def next_message(self) -> BusMessage:
        """The next message or acknowledgement; waits until one comes."""
        while True:
            message = await self._pubsub.get_message()
            if message is None:
                continue
            kind = _KINDS.get(str(message["type"]))
            if kind is not None:
                data = str(message["data"]) if kind == "message" else ""
                return BusMessage(kind, str(message["channel"]), data)


class Bus:
    """The subscriber side of the bus. `sharded` (on a Redis Cluster): channels are
    subscribed with SSUBSCRIBE on the node owning their slot, and messages are published
    with SPUBLISH (`events`), so each reaches only that node rather than every node."""

    def __init__(self, client: coredis.Redis[str], *, sharded: bool = False) -> None:
        self._client = client
        self._sharded = sharded

    @asynccontextmanager
    async def subscription(self) -> AsyncIterator[Subscription]:
        """Subscriber connections (one per node when sharded), closed (every channel
        unsubscribed) on exit. A lost connection is re-established and its channels
        subscribed again."""
        if self._sharded:
            cluster = cast(coredis.RedisCluster[str], self._client)
            async with cluster.sharded_pubsub() as sharded:
                yield Subscription(sharded)
        else:
            async with self._client.pubsub() as pubsub:
                yield Subscription(pubsub)
