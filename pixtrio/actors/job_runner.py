"""JobRunner: the media nursery's job loops, taking durable jobs off a Redis Stream."""

from __future__ import annotations

import logging
import os
import socket
from typing import Protocol

import trio

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis.jobs import Job, JobQueue

log = logging.getLogger("pixtrio.media")

MAX_FAILURES = 3
"""Attempts that may end in an error or a timeout before a job is given up."""
MAX_STARTS = 20
"""Starts, however they end, before a job is given up: bounds a job whose attempts keep
being cut short by the whole process dying, which no failure count sees."""


class JobHandler(Protocol):
    async def handle(self, job: Job) -> None:
        """Do the job, idempotently. Return when it is done for good (including when it
        can never succeed and the handler has recorded why); raise to have it retried."""
        ...

    async def give_up(self, job: Job, reason: str) -> None:
        """Record that the job failed for good."""
        ...


class JobRunner:
    """`loops` tasks, each taking one job at a time: first any job another worker left
    unacknowledged past the visibility timeout, else a new one. A job that raised is left
    pending, reclaimed and retried; it is given up after `MAX_FAILURES` attempts that
    raised (an error or a timeout here, a worker process crashing included), or after
    `MAX_STARTS` starts. An attempt cut short by this process dying or being cancelled is
    not a failure: the job is reclaimed and run again.
    """

    def __init__(
        self, queue: JobQueue, handler: JobHandler, *, loops: int, visibility_timeout: float
    ) -> None:
        self._queue = queue
        self._handler = handler
        self._loops = loops
        self._visibility_ms = int(visibility_timeout * 1000)
        self._name = f"{socket.gethostname()}-{os.getpid()}"

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await self._queue.ensure_group()
        async with trio.open_nursery() as nursery:
            for n in range(self._loops):
                nursery.start_soon(self._loop, f"{self._name}-{n}")
            task_status.started()

    async def _loop(self, consumer: str) -> None:
        while True:
            try:
                job = await self._queue.reclaim(consumer, min_idle_ms=self._visibility_ms)
                if job is None:
                    job = await self._queue.take(consumer, block_ms=1000)
                if job is not None:
                    await self._run_job(job)
            except StorageError as exc:  # Redis away: wait for it rather than spin
                log.warning("%s queue unavailable: %s", self._queue.queue, exc)
                await trio.sleep(1)

    async def _run_job(self, job: Job) -> None:
        if await self._queue.start_attempt(job) > MAX_STARTS:
            await self._handler.give_up(job, f"processing was interrupted {MAX_STARTS} times")
            await self._queue.finish(job)
            return
        try:
            await self._handler.handle(job)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            failures = await self._queue.count_failure(job)
            log.warning("%s job %s attempt %d failed: %s", self._queue.queue, job.key, failures, reason)
            if failures >= MAX_FAILURES:
                await self._handler.give_up(job, f"processing failed {failures} times ({reason})")
                await self._queue.finish(job)
            return  # left pending: reclaimed after the visibility timeout
        await self._queue.finish(job)
