"""Whom each active user follows, as a Redis set the feed's page script filters with.

The metadata store is the record; a set is a copy that may be missing (expired with the
timeline, evicted, lost with Redis) and is rebuilt from the store when a read finds it so.
A set holds the member "0" (no user has id 0) once built. Every follow or unfollow bumps
the user's version after the store write, and a rebuild only lands if the version it saw
before reading the store is unchanged, so a rebuild racing a change never drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import coredis

from . import keys
from .client import redis_errors

BUILT = "0"

_CHANGED = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[1] == '1' then redis.call('SADD', KEYS[1], ARGV[3])
  else redis.call('SREM', KEYS[1], ARGV[3]) end
end
return 0
"""
"""KEYS: the set, its version; ARGV: 1 (follow) or 0 (unfollow), the TTL, the followee."""

_REBUILD = """
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 1000 do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
"""KEYS: the set, its version; ARGV: the version seen before reading the store, the TTL,
then the members (the built marker first)."""


class FollowingSets:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._changed = client.register_script(_CHANGED)
        self._rebuild = client.register_script(_REBUILD)

    async def version(self, user_id: int) -> str:
        """The user's version now: read it before reading the store for `rebuild`."""
        with redis_errors():
            return await self._client.get(keys.following_version(user_id)) or ""

    async def rebuild(self, user_id: int, followee_ids: Sequence[int], seen_version: str) -> bool:
        """Replace the set with `followee_ids` (read from the store after `version` gave
        `seen_version`); False, changing nothing, if a follow or unfollow came between."""
        with redis_errors():
            done: Any = await self._rebuild(
                keys=[keys.following(user_id), keys.following_version(user_id)],
                args=[seen_version, str(self._ttl_s), BUILT, *map(str, followee_ids)])
        return bool(done)

    async def changed(self, follower_id: int, followee_id: int, *, following: bool) -> None:
        """After a follow or unfollow in the store: bump the version, update a built set."""
        with redis_errors():
            await self._changed(
                keys=[keys.following(follower_id), keys.following_version(follower_id)],
                args=["1" if following else "0", str(self._ttl_s), str(followee_id)])
