"""A Redis cache in front of the metadata store that never puts back an old value.

Each cached value has a generation key that every change bumps (`changed`). A reader that
misses notes the generation it saw, reads the store, and fills with that generation
(`fill`): the fill is dropped if the generation moved meanwhile, so a fill that raced a
change cannot undo it. A cache may name a tombstone value, which no change replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import coredis

from pixtrio.storage.redis.client import redis_errors

_FILL = """
for i, key in ipairs(KEYS) do
  if i % 2 == 1 then
    local gen = redis.call('GET', KEYS[i + 1]) or ''
    if gen == ARGV[i] then
      redis.call('SET', key, ARGV[i + 1], 'NX', 'EX', ARGV[#ARGV])
    end
  end
end
return 0
"""
"""KEYS: value, generation pairs; ARGV: expected generation, value pairs, then the TTL."""

_CHANGED = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
local tombstone = ARGV[3]
if tombstone == '' or ARGV[1] == tombstone or redis.call('GET', KEYS[1]) ~= tombstone then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
"""
"""KEYS: value, generation; ARGV: the new value (or the tombstone), the TTL, the tombstone
('' for none). A tombstone is never replaced."""


class Fill(NamedTuple):
    key: str
    generation_key: str
    seen_generation: str
    value: str


class GuardedCache:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int, tombstone: str = "") -> None:
        self._ttl_s = ttl_s
        self._tombstone = tombstone
        self._fill = client.register_script(_FILL)
        self._changed = client.register_script(_CHANGED)

    async def fill(self, fills: Sequence[Fill]) -> None:
        """Set each value (unless it exists) only if its generation is still the one seen."""
        if not fills:
            return
        names = [name for f in fills for name in (f.key, f.generation_key)]
        args = [value for f in fills for value in (f.seen_generation, f.value)]
        with redis_errors():
            await self._fill(keys=names, args=[*args, str(self._ttl_s)])

    async def changed(self, key: str, generation_key: str, value: str) -> None:
        """After a change in the store: bump the generation and store `value` (unless the
        key holds the tombstone and `value` is not it)."""
        with redis_errors():
            await self._changed(keys=[key, generation_key],
                                args=[value, str(self._ttl_s), self._tombstone])
