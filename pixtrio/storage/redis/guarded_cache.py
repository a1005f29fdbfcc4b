"""A Redis cache in front of the metadata store that never puts back an old value.

Each cached value has a generation key that every change bumps (`changed`), never to a
value it had before (one that expired restarts from the clock), so a generation read
again equal means no change came between. A reader that
misses notes the generation it saw, reads the store, and fills with that generation
(`fill`): the fill is dropped if the generation moved meanwhile, so a fill that raced a
change cannot undo it. A cache may name a tombstone value, which no change replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import coredis

from pixtrio.storage.redis.client import redis_errors
from pixtrio.storage.redis.scripts import source

_FILL = source("cache_fill")
_CHANGED = source("cache_changed")


class Fill(NamedTuple):
    key: str
    generation_key: str
    seen_generation: str
    value: str


class GuardedCache:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int, tombstone: str = "") -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._tombstone = tombstone
        self._fill = client.register_script(_FILL)
        self._changed = client.register_script(_CHANGED)

    async def fill(self, fills: Sequence[Fill]) -> None:
        """Set each value (unless it exists) only if its generation is still the one seen;
        one script call per value (its key and generation share a slot), pipelined."""
        if not fills:
            return
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                for f in fills:
                    self._fill(keys=[f.key, f.generation_key],
                               args=[f.seen_generation, f.value, str(self._ttl_s)], client=pipe)

    async def changed(self, key: str, generation_key: str, value: str) -> None:
        """After a change in the store: bump the generation and store `value` (unless the
        key holds the tombstone and `value` is not it)."""
        with redis_errors():
            await self._changed(keys=[key, generation_key],
                                args=[value, str(self._ttl_s), self._tombstone])
