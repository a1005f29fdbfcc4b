"""Process-wide numbers handed out by Redis."""

from __future__ import annotations

import coredis

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys


async def lease_worker_id(client: coredis.Redis[str], *, modulo: int) -> int:
    """A worker number in 0..modulo-1, distinct for each of the last `modulo` callers."""
    try:
        counter = await client.incr(keys.id_worker_counter())
    except coredis.exceptions.RedisError as exc:
        raise StorageError(f"redis: {exc}") from None
    return (counter - 1) % modulo
