"""WorkerPool: CPU-heavy, crash-prone work (libvips, later ffmpeg) in worker processes.

A crash, a memory blow-up or a hang in a worker process costs that one call, never the
server: the call raises (`trio_parallel.BrokenWorkerError`, `trio.TooSlowError`) and the
pool starts a fresh process for the next one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio
import trio_parallel

R = TypeVar("R")


class WorkerPool:
    """Runs functions in worker processes, at most `size` at a time, each within `time_limit`."""

    def __init__(self, context: trio_parallel.WorkerContext, *, size: int, time_limit: float) -> None:
        self.size = size
        self._context = context
        self._time_limit = time_limit
        self._limiter = trio.CapacityLimiter(size)

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        """`fn(*args)` in a worker process. Raises `trio.TooSlowError` past the time limit.

        On cancellation or timeout the worker process running it is killed.
        """
        with trio.fail_after(self._time_limit):
            async with self._limiter:
                return await self._context.run_sync(fn, *args, kill_on_cancel=True)


@asynccontextmanager
async def open_worker_pool(
    *, size: int, time_limit: float, init: Callable[[], Any]
) -> AsyncIterator[WorkerPool]:
    """A pool whose processes run `init` once at start; they are stopped when the block exits."""
    async with trio_parallel.open_worker_context(
        init=init, worker_type=trio_parallel.WorkerType.SPAWN, grace_period=5.0
    ) as context:
        yield WorkerPool(context, size=size, time_limit=time_limit)
