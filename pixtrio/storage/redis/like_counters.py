"""Like counts in Redis counters, one per post on the post's slot, so a feed page reads a
post's entry, generation and count together (one MGET of three names per post).

One key per post, not shards: a Valkey node runs one command at a time, so splitting a
post's count over keys of one node spreads nothing, and an INCRBY costs about a
microsecond there, so one post's likes would have to come near a hundred thousand a
second before its node is the limit. Spreading a hot post over nodes (a key per shard,
each its own slot) would cost every page of every viewer a read per shard instead, and
pages are read far more often than posts are liked.

The durable record of who likes what is the metadata store's; a flush (`LikeService`)
makes these counters and the stored `like_count` agree with it.
"""

from __future__ import annotations

from collections.abc import Collection

import coredis
from coredis import PureToken

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors


class LikeCounters:
    def __init__(self, client: coredis.Redis[str]) -> None:
        self._client = client

    async def add(self, post_id: int, delta: int) -> int:
        """Count `delta` and mark the post for the next flush; the count afterwards (just
        `delta` if the counter was missing, lost with Redis, until the flush)."""
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                total = pipe.incrby(keys.like_count(post_id), delta)
                pipe.sadd(keys.likes_dirty(), [str(post_id)])
            return await total

    async def totals(self, post_ids: Collection[int]) -> dict[int, int]:
        """Each post's count in one MGET; posts whose counter is missing are left out."""
        ids = list(post_ids)
        if not ids:
            return {}
        with redis_errors():
            values = await self._client.mget([keys.like_count(p) for p in ids])
        return {p: int(v) for p, v in zip(ids, values, strict=True) if v is not None}

    async def start(self, post_id: int) -> None:
        """Give a post that just became ready its counter, at zero unless it exists."""
        with redis_errors():
            await self._client.set(keys.like_count(post_id), "0", condition=PureToken.NX)

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
        post without a counter (`seen` lacks it) gets one, even at zero, so reads stop
        marking it."""
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                for post_id, count in exact.items():
                    if post_id not in seen or count != seen[post_id]:
                        pipe.incrby(keys.like_count(post_id), count - seen.get(post_id, 0))

    async def forget(self, post_id: int) -> None:
        with redis_errors():
            await self._client.delete([keys.like_count(post_id)])
