"""Timelines' pushes against a real Valkey: plain pipelined commands that keep the sentinel
and the newest `cap`, and give a set made by the push a TTL."""

from __future__ import annotations

from pathlib import Path

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.timelines import (
    SENTINEL,
    SENTINEL_SCORE,
    TRIM_EVERY,
    Timelines,
    member,
)
from pixtrio.testing.valkey import valkey_clients


async def test_push_adds_trims_to_the_sentinel_and_newest_and_expires_new_sets(
        tmp_path: Path) -> None:
    async with valkey_clients(tmp_path) as (redis, lean):
        timelines = Timelines(redis, lean, ttl_s=100)
        built, fresh = keys.timeline(1), keys.timeline(2)
        await redis.zadd(built, {SENTINEL: SENTINEL_SCORE})
        await redis.expire(built, 5000)
        many = [(1 << 20) * n for n in range(1, 2001)]  # more than one batch of sets below
        await timelines.push([built, fresh, *(keys.timeline(u) for u in range(3, 1503))],
                             many[:3], cap=2)
        assert await redis.zrange(built, 0, -1) == (SENTINEL, member(many[1]), member(many[2]))
        assert 100 < await redis.ttl(built) <= 5000  # it had one: the push keeps it
        assert await redis.zrange(fresh, 0, -1) == tuple(member(p) for p in many[:3])  # cap + 1
        assert 0 < await redis.ttl(fresh) <= 100  # made here: it expires
        assert await redis.zcard(keys.timeline(1502)) == 3
        await timelines.push([built], many[3:], cap=2)
        assert await redis.zrange(built, 0, -1) == (SENTINEL, member(many[-2]), member(many[-1]))


async def test_one_post_pushes_trim_a_turning_eighth_of_the_sets(tmp_path: Path) -> None:
    """A push of one post trims one set in `TRIM_EVERY`, a different share each post: the
    sets stay a few entries past `cap`, and their newest `cap` are always right."""
    async with valkey_clients(tmp_path) as (redis, lean):
        timelines = Timelines(redis, lean, ttl_s=100)
        sets = [keys.timeline(u) for u in range(1, 65)]
        posts = [((1 << 20) * n) << 22 for n in range(1, 201)]  # ids as a clock makes them
        for post_id in posts:
            await timelines.push(sets, [post_id], cap=5)
        sizes = [await redis.zcard(key) for key in sets]
        assert all(6 <= size <= 6 + 6 * TRIM_EVERY for size in sizes)  # cap + 1 kept at least
        assert sum(sizes) / len(sizes) <= 6 + TRIM_EVERY
        for key in sets:
            newest = await redis.zrange(key, 0, 4, rev=True)
            assert newest == tuple(member(p) for p in reversed(posts[-5:]))
