"""Like counts in sharded Redis counters: a hot post spreads its increments over
`shards` keys (on different cluster slots), so no single key serialises them.

The durable record of who likes what is the metadata store's; a flush (`LikeService`)
makes these counters and the stored `like_count` agree with it.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

import coredis
from coredis import PureToken

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors


class LikeCounters:
    def __init__(self, client: coredis.Redis[str], *, shards: int) -> None:
        self._client = client
        self.shards = shards

    def _names(self, post_id: int) -> list[str]:
        return [keys.like_shard(post_id, n) for n in range(self.shards)]

    async def add(self, post_id: int, delta: int) -> int | None:
        """Count `delta` on a random shard and mark the post for the next flush; the total
        afterwards, or None when every shard is missing (lost with Redis)."""
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.incrby(keys.like_shard(post_id, random.randrange(self.shards)), delta)
                pipe.sadd(keys.likes_dirty(), [str(post_id)])
                values = [pipe.get(name) for name in self._names(post_id)]  # shards' slots differ
            return _total([await value for value in values])

    async def totals(self, post_ids: Collection[int]) -> dict[int, int]:
        """Each post's total in one MGET; posts whose shards are all missing are left out."""
        ids = list(post_ids)
        if not ids:
            return {}
        with redis_errors():
            values = await self._client.mget([n for p in ids for n in self._names(p)])
        totals = {}
        for i, post_id in enumerate(ids):
            total = _total(values[i * self.shards:(i + 1) * self.shards])
            if total is not None:
                totals[post_id] = total
        return totals

    async def start(self, post_id: int) -> None:
        """Give a post that just became ready its counters, at zero unless they exist."""
        with redis_errors():
            await self._client.set(keys.like_shard(post_id, 0), "0", condition=PureToken.NX)

    async def mark_dirty(self, post_ids: Collection[int]) -> None:
        """Have the next flush recount these posts (their counters went missing)."""
        if not post_ids:
            return
        with redis_errors():
            await self._client.sadd(keys.likes_dirty(), [str(p) for p in post_ids])

    async def take_dirty(self, count: int) -> list[int]:
        """Up to `count` post ids marked since they were last taken."""
        with redis_errors():
            popped = await self._client.spop(keys.likes_dirty(), count)
        return [int(p) for p in popped or ()]

    async def correct(self, exact: dict[int, int], seen: dict[int, int]) -> None:
        """Move each counter by exact - seen (what the durable record says minus what the
        counter said before it was read): relative, so likes counted meanwhile stay. A
        post without counters (`seen` lacks it) gets them, even at zero, so reads stop
        marking it."""
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                for post_id, count in exact.items():
                    if post_id not in seen or count != seen[post_id]:
                        pipe.incrby(keys.like_shard(post_id, 0), count - seen.get(post_id, 0))

    async def forget(self, post_id: int) -> None:
        with redis_errors():
            await self._client.delete(self._names(post_id))


def _total(values: Sequence[str | None]) -> int | None:
    present = [int(v) for v in values if v is not None]
    return sum(present) if present else None
