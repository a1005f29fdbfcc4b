"""ProcessSupervisor: keeps one child process alive for as long as it runs."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path

import trio

log = logging.getLogger("pixtrio.supervisor")


class ChildFailedToStart(Exception):
    """The child never became ready on its first start."""


class ProcessSupervisor:
    """Starts a command, restarts it (with backoff) whenever it exits, stops it on cancel.

    `ready` must return once the child serves. `run` reports started only after the first
    start is ready; on cancellation the child gets SIGTERM (SIGKILL after 5 s) and `run`
    returns once it is gone.
    """

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        ready: Callable[[], Awaitable[None]],
        log_path: Path,
        ready_within: float = 15.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.starts = 0
        self.pid: int | None = None
        self._ready = ready
        self._log_path = log_path
        self._ready_within = ready_within
        self._max_backoff = max_backoff

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        backoff = 0.1
        while True:
            started_at = trio.current_time()
            await self._run_once(task_status if self.starts == 0 else trio.TASK_STATUS_IGNORED)
            if trio.current_time() - started_at > 30:
                backoff = 0.1
            log.warning("%s exited; restarting in %.1fs", self.name, backoff)
            await trio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    async def _run_once(self, task_status: trio.TaskStatus[None]) -> None:
        """Run the child until it exits; report started to `task_status` once it is ready."""
        first = self.starts == 0
        self.starts += 1
        with self._log_path.open("ab") as output:
            async with trio.open_nursery() as nursery:
                process: trio.Process = await nursery.start(partial(
                    trio.run_process, self.command, check=False,
                    stdout=output, stderr=subprocess.STDOUT,
                    # Its own session: a terminal's Ctrl-C reaches us, and we stop the child.
                    start_new_session=True,
                ))
                self.pid = process.pid
                with trio.move_on_after(self._ready_within) as waiting:
                    await self._ready()
                if waiting.cancelled_caught:
                    process.kill()
                    if first:
                        raise ChildFailedToStart(
                            f"{self.name} did not become ready in {self._ready_within:.0f}s;"
                            f" see {self._log_path}"
                        )
                    return
                log.info("%s ready (pid %d)", self.name, process.pid)
                task_status.started()
