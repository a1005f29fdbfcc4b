"""Re-queueing posts whose media job was lost, so an accepted upload is never stranded.

A post is published and its job queued in two steps; a process that dies between them, or
Redis losing its data, leaves the post `processing` with no job. Every `interval` the
sweeper re-queues the job of each post still processing `stuck_after` seconds after it
was published, at most once per `stuck_after` (a Redis marker). Jobs are idempotent, so a
job that was merely slow costs a no-op; one that already failed its attempts gives up and
marks the post failed.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import coredis
import trio

from storage.errors import StorageError
from storage.metadata import MetadataStore
from storage.redis import keys
from storage.redis.client import redis_errors
from storage.redis.jobs import JobQueue

log = logging.getLogger("pixtrio.sweeper")

SWEEP_BATCH = 100


class StuckPostSweeper:
    def __init__(self, store: MetadataStore, redis: coredis.Redis[str],
                 queues: dict[str, JobQueue], *, stuck_after: float) -> None:
        self._store = store
        self._redis = redis
        self._queues = queues
        self.stuck_after = stuck_after

    async def sweep(self) -> int:
        """Re-queue the jobs of stuck posts; how many were queued."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.stuck_after)
        queued = 0
        for post in await self._store.processing_posts(created_before=cutoff, limit=SWEEP_BATCH):
            with redis_errors():
                first = await self._redis.set(keys.sweep_marker(post.post_id), "1",
                                              ex=int(self.stuck_after), condition=coredis.PureToken.NX)
            if not first:
                continue
            await self._queues[post.kind].add(str(post.post_id), kind=post.kind)
            log.warning("post %d was still processing after %.0f s: its job is queued again",
                        post.post_id, self.stuck_after)
            queued += 1
        return queued

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Sweep every quarter of `stuck_after` (at most every 5 minutes) until cancelled;
        a store or Redis that is away is retried at the next turn."""
        task_status.started()
        while True:
            await trio.sleep(min(300.0, self.stuck_after / 4))
            try:
                await self.sweep()
            except StorageError as exc:
                log.warning("sweep failed: %s", exc)
