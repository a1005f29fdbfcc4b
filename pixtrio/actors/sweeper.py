"""Re-queueing posts whose media job was lost, so an accepted upload is never stranded.

A post is published and its job queued in two steps; a process that dies between them
(when the client does not retry the publish, which repairs it), or Redis losing its data,
leaves the post `processing` with no job. Every quarter of `stuck_after` (at most every 5
minutes) the sweeper queues a job for each post still processing `stuck_after` seconds
after it was published, unless its queue holds one for it: a job waiting, or taken and
not finished, is left alone, since a long video may legitimately run for many minutes and
one whose worker died is reclaimed by the job runners. Only posts with no job at all get
one, so sweeping often costs nothing but the look-ups.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import trio

from pixtrio.storage.errors import StorageError
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.jobs import JobQueue

log = logging.getLogger("pixtrio.sweeper")

SWEEP_BATCH = 100


class StuckPostSweeper:
    def __init__(self, store: MetadataStore, queues: dict[str, JobQueue], *,
                 stuck_after: float) -> None:
        self._store = store
        self._queues = queues
        self.stuck_after = stuck_after

    async def sweep(self) -> int:
        """Queue the jobs of stuck posts that have none; how many were queued."""
        cutoff = datetime.now(UTC) - timedelta(seconds=self.stuck_after)
        queued = 0
        for post in await self._store.processing_posts(created_before=cutoff, limit=SWEEP_BATCH):
            if await self._queues[post.kind].add_unless_queued(str(post.post_id), kind=post.kind):
                log.warning("post %d was still processing after %.0f s with no job: its job is"
                            " queued again", post.post_id, self.stuck_after)
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
