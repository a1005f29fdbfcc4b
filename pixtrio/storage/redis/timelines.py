"""Timelines and authors' recent posts as Redis sorted sets of post ids.

Post ids are 63-bit, more than a sorted-set score (a double) holds exactly, so a member is
the id zero-padded to 20 digits and its score the id's top 53 bits (`score`). Redis orders
equal scores by member, so (score, member) order is id order; ranges are BYSCORE, and the
few ids that share a score with a page's position are compared by member. Each set also
holds a sentinel member ("000…0", score -1, always at rank 0) that says the set was built
from the metadata store; a set without it is missing (evicted, never built, or lost with
Redis) and is rebuilt before it is read. Trimming keeps the sentinel and the newest
entries. Pushes go into a set whether or not it is built, so a rebuild racing a fan-out
keeps the pushed post.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import coredis
from coredis import PureToken

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors
from pixtrio.storage.redis.lean import Call, LeanRedis, bulk, packed

SENTINEL = "0" * 20
SENTINEL_SCORE = -1
SCORE_SHIFT = 10
"""A member's score is its id shifted right by this: 53 bits, exact in a double."""
TIMELINE_CAP = 800
AUTHOR_RECENT_CAP = 200
FANOUT_BATCH = 1000
"""Sets written per pipeline (one round trip per node) during fan-out."""
GOLDEN = 0x9E3779B97F4A7C15
"""Fibonacci hashing's multiplier: its product's high bits spread any run of post ids."""
TRIM_EVERY = 8
"""A one-post push trims one set in this many (which ones turns with each post), so a set
holds at most `cap` plus a few entries past it between trims, and each push pays about an
eighth of a trim per set: a trim that drops an entry was a third of a push's Valkey time."""

def member(post_id: int) -> str:
    return f"{post_id:020d}"


def score(post_id: int) -> int:
    return post_id >> SCORE_SHIFT


def scored(post_ids: Iterable[int]) -> list[int | str]:
    """Score, member, score, member, ... of `post_ids`: ZADD's arguments."""
    return [part for p in post_ids for part in (score(p), member(p))]


@dataclass(frozen=True)
class Slice:
    """Post ids of one sorted set, newest first; `built` is False when the set is missing
    and must be rebuilt first."""

    built: bool
    post_ids: list[int]


class Timelines:
    def __init__(self, client: coredis.Redis[str], lean: LeanRedis, *, ttl_s: int) -> None:
        self._client = client
        self._lean = lean
        self._ttl_s = ttl_s

    async def newest(self, keys_: Sequence[str], *, count: int) -> list[Slice]:
        """The newest `count` ids of each set, in one round trip (a page of the feed reads
        its sets through `feed_reads`, which also renews the timeline's expiry)."""
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                asks = [(pipe.zrange(key, "+inf", 0, sortby=PureToken.BYSCORE, rev=True,
                                     offset=0, count=count),
                         pipe.zscore(key, SENTINEL)) for key in keys_]
            return [Slice(await built is not None, [int(m) for m in await ids])
                    for ids, built in asks]

    async def rebuild(self, key: str, post_ids: Iterable[int], *, cap: int) -> None:
        """Mark `key` built with `post_ids` merged in (kept: whatever was pushed meanwhile)."""
        members: dict[str | bytes, int | float] = {member(p): score(p) for p in post_ids}
        members[SENTINEL] = SENTINEL_SCORE
        with redis_errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.zadd(key, members)
                pipe.zremrangebyrank(key, 1, -(cap + 1))
                pipe.expire(key, self._ttl_s)

    async def push(self, keys_: Sequence[str], post_ids: Sequence[int], *, cap: int) -> None:
        """Add `post_ids` to every set of `keys_`, give a set made here the TTL, and trim
        sets to their first member (the sentinel of a built set) and the newest `cap`:
        every set when several posts come at once, else one in `TRIM_EVERY` (readers never
        page past `cap`). ZADD, EXPIRE NX and the trim's ZREMRANGEBYRANK, `FANOUT_BATCH`
        sets a pipeline over the lean client (one round trip per node), the commands built
        from shared byte pieces. Plain commands, not a script: a fan-out to 10,000
        timelines is then within a few tens of percent of Valkey's own floor
        (bench.feed_writes). Cancelled midway, the batches already sent stay written;
        re-running is harmless."""
        if not post_ids:
            return
        adds = [bulk(str(part).encode()) for part in scored(post_ids)]
        zadd = b"*%d\r\n$4\r\nZADD\r\n" % (2 + len(adds))
        zadd_tail = b"".join(adds)
        trim = b"*4\r\n$15\r\nZREMRANGEBYRANK\r\n"
        trim_tail = bulk(b"1") + bulk(b"%d" % -(cap + 1))
        expire = b"*4\r\n$6\r\nEXPIRE\r\n"
        expire_tail = bulk(b"%d" % self._ttl_s) + bulk(b"NX")
        every = 1 if len(post_ids) > 1 else TRIM_EVERY
        turn = (((post_ids[0] * GOLDEN) % (1 << 64)) >> 56) % every
        for start in range(0, len(keys_), FANOUT_BATCH):
            calls: list[Call] = []
            for index, key in enumerate(keys_[start:start + FANOUT_BATCH], start):
                name = bulk(key.encode())
                calls += (packed(zadd + name + zadd_tail, key),
                          packed(expire + name + expire_tail, key))
                if index % every == turn:
                    calls.append(packed(trim + name + trim_tail, key))
            await self._lean.execute(calls)

    async def remove(self, keys_: Sequence[str], post_ids: Sequence[int]) -> None:
        """Take `post_ids` out of every set of `keys_`, `FANOUT_BATCH` sets a round trip."""
        if not post_ids:
            return
        members = [member(p) for p in post_ids]
        for start in range(0, len(keys_), FANOUT_BATCH):
            with redis_errors():
                async with self._client.pipeline(transaction=False) as pipe:
                    for key in keys_[start:start + FANOUT_BATCH]:
                        pipe.zrem(key, members)

    # by owner: what the feed asks for, with the key names kept here

    async def push_to_timelines(self, user_ids: Sequence[int], post_ids: Sequence[int]) -> None:
        """`push` into the home timelines of `user_ids`."""
        await self.push([keys.timeline(u) for u in user_ids], post_ids, cap=TIMELINE_CAP)

    async def push_to_recent(self, author_id: int, post_ids: Sequence[int]) -> None:
        """`push` into the author's set of recent posts."""
        await self.push([keys.author_recent(author_id)], post_ids, cap=AUTHOR_RECENT_CAP)

    async def remove_from_timelines(self, user_ids: Sequence[int], post_ids: Sequence[int]
                                    ) -> None:
        """`remove` from the home timelines of `user_ids`."""
        await self.remove([keys.timeline(u) for u in user_ids], post_ids)

    async def remove_from_author(self, author_id: int, post_ids: Sequence[int]) -> None:
        """`remove` from the author's recent set and own home timeline."""
        await self.remove([keys.author_recent(author_id), keys.timeline(author_id)], post_ids)

    async def recent_of(self, author_id: int) -> Slice:
        """The author's newest `AUTHOR_RECENT_CAP` posts."""
        [recent] = await self.newest([keys.author_recent(author_id)], count=AUTHOR_RECENT_CAP)
        return recent

    async def rebuild_timeline(self, user_id: int, post_ids: Iterable[int]) -> None:
        """`rebuild` the user's home timeline."""
        await self.rebuild(keys.timeline(user_id), post_ids, cap=TIMELINE_CAP)

    async def rebuild_recent(self, author_id: int, post_ids: Iterable[int]) -> None:
        """`rebuild` the author's set of recent posts."""
        await self.rebuild(keys.author_recent(author_id), post_ids, cap=AUTHOR_RECENT_CAP)

    async def set_celebrity(self, author_id: int, celebrity: bool) -> bool:
        """Put the author in or out of the pulled set; True if that changed anything."""
        with redis_errors():
            if celebrity:
                return bool(await self._client.sadd(keys.celebrities(), [str(author_id)]))
            return bool(await self._client.srem(keys.celebrities(), [str(author_id)]))

    async def drop_user(self, user_id: int) -> None:
        """Delete the user's home timeline and recent set, and take them out of the
        pulled set (the account is gone)."""
        with redis_errors():
            await self._client.delete([keys.timeline(user_id), keys.author_recent(user_id)])
            await self._client.srem(keys.celebrities(), [str(user_id)])
