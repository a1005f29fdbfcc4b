"""The job runner gives a job up for attempts that failed, not for ones cut short."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from pixtrio.actors.job_runner import MAX_STARTS, JobRunner
from pixtrio.storage.redis.jobs import Job, JobQueue
from pixtrio.testing.valkey import valkey_client


class ScriptedHandler:
    """Attempt n raises if `script[n]` is "fail"; otherwise it runs until cancelled."""

    def __init__(self, script: list[str]) -> None:
        self.script = script
        self.attempts = 0
        self.given_up: list[str] = []
        self.changed = trio.Event()

    async def handle(self, job: Job) -> None:
        outcome = self.script[self.attempts]
        self.attempts += 1
        self._note()
        if outcome == "fail":
            raise ValueError("unusable")
        await trio.sleep_forever()

    async def give_up(self, job: Job, reason: str) -> None:
        self.given_up.append(reason)
        self._note()

    def _note(self) -> None:
        self.changed.set()
        self.changed = trio.Event()


@asynccontextmanager
async def queue_with_a_job(tmp_path: Path) -> AsyncIterator[JobQueue]:
    async with valkey_client(tmp_path / "redis") as redis:
        queue = JobQueue(redis, "media")
        await queue.ensure_group()
        await queue.add("7", kind="photo")
        yield queue


async def run_until(queue: JobQueue, handler: ScriptedHandler, *, attempts: int = 0) -> None:
    """Run a job runner until `attempts` attempts have started or the job was given up,
    then cancel it mid-attempt: as the process running it dying would stop it."""
    runner = JobRunner(queue, handler, loops=1, visibility_timeout=0.001)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(runner.run)
            while handler.attempts < attempts and not handler.given_up:
                await handler.changed.wait()
            nursery.cancel_scope.cancel()


async def test_only_attempts_that_fail_count(tmp_path: Path) -> None:
    handler = ScriptedHandler(["fail", "cut", "cut", "cut", "cut", "fail", "fail", "cut"])
    async with queue_with_a_job(tmp_path) as queue:
        for cut_at in (2, 3, 4, 5):
            await run_until(queue, handler, attempts=cut_at)
        await run_until(queue, handler, attempts=8)
        assert handler.given_up == ["processing failed 3 times (ValueError: unusable)"]
        assert handler.attempts == 7, "given up at the third failure, after four cut short"
        assert await queue.reclaim("other", min_idle_ms=0) is None, "a given-up job is finished"


async def test_a_job_cut_short_every_time_is_given_up(tmp_path: Path) -> None:
    handler = ScriptedHandler(["cut"] * MAX_STARTS)
    async with queue_with_a_job(tmp_path) as queue:
        for cut_at in range(1, MAX_STARTS + 1):
            await run_until(queue, handler, attempts=cut_at)
        await run_until(queue, handler, attempts=MAX_STARTS + 1)
        assert handler.given_up == [f"processing was interrupted {MAX_STARTS} times"]
        assert handler.attempts == MAX_STARTS
        assert await queue.reclaim("other", min_idle_ms=0) is None
        assert await queue.take("other", block_ms=10) is None
