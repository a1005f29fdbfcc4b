"""Durable job queues on Redis Streams with one consumer group per queue.

A job stays in the group's pending list until it is acknowledged. A worker that dies
leaves it there; another worker reclaims it with XAUTOCLAIM once it has been idle for the
visibility timeout. Per job key the queue counts starts and failed attempts (so a job can
be given up on) and remembers the entry of its latest job (so a job can be queued unless
one is already waiting or taken); all three are dropped when the job is finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import coredis
from coredis.exceptions import RedisError

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors

GROUP = "workers"


@dataclass(frozen=True)
class Job:
    entry_id: str
    key: str  # what the job is about, e.g. a post id; one attempt counter per key
    fields: dict[str, str]


class JobQueue:
    def __init__(self, client: coredis.Redis[str], queue: str) -> None:
        self._client = client
        self.queue = queue
        self._stream = keys.job_stream(queue)
        self._attempts = keys.job_attempts(queue)
        self._failures = keys.job_failures(queue)
        self._entries = keys.job_entries(queue)

    async def ensure_group(self) -> None:
        """Create the stream and its consumer group if they do not exist."""
        try:
            await self._client.xgroup_create(self._stream, GROUP, identifier="0", mkstream=True)
        except RedisError as exc:
            if "already exists" not in str(exc) and "BUSYGROUP" not in str(exc):
                raise StorageError(f"redis: {exc}") from None

    async def add(self, key: str, **fields: str) -> str:
        """Enqueue a job about `key`; returns its entry id."""
        with redis_errors():
            entry = str(await self._client.xadd(self._stream, {"key": key, **fields}))
            await self._client.hset(self._entries, {key: entry})
        return entry

    async def add_unless_queued(self, key: str, **fields: str) -> bool:
        """Enqueue a job about `key` unless the stream still holds the latest one added for
        it (waiting, or taken and not finished: a worker that died leaves it to be
        reclaimed); True if one was added.

        Check and add are separate calls, so two racing callers may both add: jobs are
        idempotent, so the duplicate costs a no-op run, never a wrong result.
        """
        with redis_errors():
            entry = await self._client.hget(self._entries, key)
            if entry is not None and await self._client.xrange(self._stream, entry, entry):
                return False
        await self.add(key, **fields)
        return True

    async def take(self, consumer: str, *, block_ms: int) -> Job | None:
        """A new job for `consumer`, waiting up to `block_ms`; None if none came.

        A group lost with Redis's data is made again (the jobs in it are lost with it).
        """
        try:
            answer = await self._client.xreadgroup(
                GROUP, consumer, streams={self._stream: ">"}, count=1, block=block_ms
            )
        except RedisError as exc:
            if _group_missing(exc):
                await self.ensure_group()
                return None
            raise StorageError(f"redis: {exc}") from None
        for entries in (answer or {}).values():
            for entry in entries:
                return _job(entry.identifier, entry.field_values)
        return None

    async def reclaim(self, consumer: str, *, min_idle_ms: int) -> Job | None:
        """A job some worker took but has not acknowledged for `min_idle_ms`, now `consumer`'s."""
        try:
            answer = await self._client.xautoclaim(
                self._stream, GROUP, consumer, min_idle_ms, "0-0", count=1
            )
        except RedisError as exc:
            if _group_missing(exc):
                await self.ensure_group()
                return None
            raise StorageError(f"redis: {exc}") from None
        for entry in answer[1]:
            if entry.field_values:  # deleted entries come back empty
                return _job(entry.identifier, entry.field_values)
        return None

    async def start_attempt(self, job: Job) -> int:
        """Count one more start of `job`, however it ends; returns how many there have been."""
        with redis_errors():
            return int(await self._client.hincrby(self._attempts, job.key, 1))

    async def count_failure(self, job: Job) -> int:
        """Count one more attempt at `job` that ended in an error or a timeout; returns how
        many there have been."""
        with redis_errors():
            return int(await self._client.hincrby(self._failures, job.key, 1))

    async def finish(self, job: Job) -> None:
        """Acknowledge and drop `job` and its counts; done or given up on."""
        with redis_errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.xack(self._stream, GROUP, [job.entry_id])
                pipe.xdel(self._stream, [job.entry_id])
                pipe.hdel(self._attempts, [job.key])
                pipe.hdel(self._failures, [job.key])
                pipe.hdel(self._entries, [job.key])

    async def depth(self) -> int:
        """Jobs waiting or in progress."""
        with redis_errors():
            return int(await self._client.xlen(self._stream))


def _group_missing(exc: RedisError) -> bool:
    """The stream or its group is gone (Redis lost its data): NOGROUP, whose prefix
    coredis may strip from the message."""
    text = str(exc)
    return "NOGROUP" in text or ("No such key" in text and "consumer group" in text)


def _job(entry_id: object, values: Mapping[Any, Any]) -> Job:
    fields = {str(k): str(v) for k, v in values.items()}
    return Job(str(entry_id), fields.pop("key", ""), fields)
