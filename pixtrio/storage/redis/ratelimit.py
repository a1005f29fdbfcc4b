"""A GCRA rate limiter in one Lua script: one key per subject, atomic, no clock skew.

GCRA ("generic cell rate algorithm") allows `limit` requests per `period` and then one
per `period / limit`; it stores one timestamp per subject and uses the server's clock.
"""

from __future__ import annotations

import coredis
from coredis.exceptions import RedisError

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.scripts import source

GCRA = source("gcra")


class GcraLimiter:
    """Counts hits against named rules in Redis."""

    def __init__(self, client: coredis.Redis[str]) -> None:
        self._script = client.register_script(GCRA)

    async def hit(self, rule: str, subject: str, *, limit: int, period_ms: int) -> int:
        """Record one hit; 0 if allowed, else the milliseconds until one would be.

        A refused hit is not counted.
        """
        try:
            wait: object = await self._script(keys=[keys.rate_limit(rule, subject)], args=[limit, period_ms])
        except RedisError as exc:
            raise StorageError(f"redis: {exc}") from None
        return int(str(wait))
