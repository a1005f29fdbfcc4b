"""The perceptual-hash blocklist's version: a counter every process compares with the
version of its in-process matcher, so a change made on any process is seen on the next
match everywhere."""

from __future__ import annotations

import coredis

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors


class BlocklistVersion:
    def __init__(self, client: coredis.Redis[str]) -> None:
        self._client = client

    async def current(self) -> int:
        """The version now (0 before the first change). Raises `StorageError`."""
        with redis_errors():
            value = await self._client.get(keys.hash_blocklist_version())
        return int(value) if value is not None else 0

    async def bump(self) -> int:
        """Count one change; the new version. Raises `StorageError`."""
        with redis_errors():
            return await self._client.incr(keys.hash_blocklist_version())
