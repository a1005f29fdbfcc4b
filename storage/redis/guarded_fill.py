"""Filling a Redis cache from the metadata store without ever putting back an old value.

Each cached value has a generation key that every change bumps. A reader that misses
notes the generation it saw, reads the store, and fills with that generation: the fill is
dropped if the generation moved meanwhile, so a fill that raced a change cannot undo it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import coredis

from .client import redis_errors

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


class Fill(NamedTuple):
    key: str
    generation_key: str
    seen_generation: str
    value: str


class GuardedFill:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int) -> None:
        self._ttl_s = ttl_s
        self._script = client.register_script(_FILL)

    async def __call__(self, fills: Sequence[Fill]) -> None:
        """Set each value (unless it exists) only if its generation is still the one seen."""
        if not fills:
            return
        names = [name for f in fills for name in (f.key, f.generation_key)]
        args = [value for f in fills for value in (f.seen_generation, f.value)]
        with redis_errors():
            await self._script(keys=names, args=[*args, str(self._ttl_s)])
