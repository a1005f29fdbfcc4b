"""A GCRA rate limiter in one Lua script: one key per subject, atomic, no clock skew.

GCRA ("generic cell rate algorithm") allows `limit` requests per `period` and then one
per `period / limit`; it stores one timestamp per subject and uses the server's clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import coredis
from coredis.exceptions import RedisError

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.scripts import source

GCRA = source("gcra")


@dataclass(frozen=True)
class Quota:
    """One subject's budget under one rule, right after a hit."""

    limit: int
    remaining: int
    """Hits still allowed right now."""
    reset_ms: int
    """Milliseconds until the whole budget is back."""
    wait_ms: int
    """0 if the hit was allowed (and counted), else the milliseconds until one would be."""


class GcraLimiter:
    """Counts hits against named rules in Redis."""

    def __init__(self, client: coredis.Redis[str]) -> None:
        self._script = client.register_script(GCRA)

    async def hit(self, rule: str, subject: str, *, limit: int, period_ms: int) -> Quota:
        """Record one hit of `subject` (its own hash tag, see `keys.rate_limit`) against
        `rule`. A refused hit is not counted."""
        try:
            answer: object = await self._script(
                keys=[keys.rate_limit(rule, subject)], args=[limit, period_ms])
        except RedisError as exc:
            raise StorageError(f"redis: {exc}") from None
        assert isinstance(answer, list | tuple)
        wait, remaining, reset = (int(str(n)) for n in answer)
        return Quota(limit, remaining, reset, wait)
