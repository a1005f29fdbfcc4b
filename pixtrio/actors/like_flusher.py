"""LikeFlusher: every few seconds, the like counters and the stored counts are made to agree.

A like is durable in the metadata store at once and counted in sharded Redis counters; the
posts whose counts moved are marked. This actor runs the likes feature's `flush` (recount
the marked posts from the durable likes, correct the counters, store the counts) on a
timer. A store or Redis that is away is retried at the next turn: the posts stay marked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import trio

from pixtrio.storage.errors import StorageError

log = logging.getLogger("pixtrio.likes")


class LikeFlusher:
    def __init__(self, flush: Callable[[], Awaitable[int]], *, interval: float) -> None:
        self._flush = flush
        self.interval = interval

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Flush every `interval` seconds until cancelled (a flush cut short by cancellation
        leaves its posts marked, so the next process flushes them)."""
        task_status.started()
        while True:
            await trio.sleep(self.interval)
            try:
                await self._flush()
            except StorageError as exc:
                log.warning("like flush failed: %s", exc)
