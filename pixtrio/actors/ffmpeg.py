"""Running FFmpeg as a child process: on idle CPU only, memory- and CPU-capped, killed when
cancelled."""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Callable
from functools import partial

import trio

FALLBACK_NICENESS = 19
"""Where SCHED_IDLE is unavailable: the lowest ordinary priority."""
CPU_POLL_S = 0.25


class FfmpegFailed(Exception):
    """FFmpeg did not finish its work; `reason` says why, fit for a post's author."""

    def __init__(self, reason: str, *, returncode: int, cpu_exhausted: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.returncode = returncode
        self.cpu_exhausted = cpu_exhausted

    @property
    def killed(self) -> bool:
        """True when a signal from outside ended it (OOM killer, operator): worth retrying."""
        return self.returncode < 0 and not self.cpu_exhausted


def find_ffmpeg(configured: str | None) -> str:
    """`configured` if set, else the FFmpeg binary bundled with imageio-ffmpeg."""
    if configured:
        return configured
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _limits(memory_limit: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        try:  # only CPU time nothing else wants: photos and requests never wait on a transcode
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except (AttributeError, OSError):
            os.nice(FALLBACK_NICENESS)
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return apply


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) process `pid` has used; None where /proc is
    missing or the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_ffmpeg(command: list[str], *, memory_limit: int, cpu_limit: float) -> None:
    """Run one FFmpeg command to completion.

    Its CPU time is what is limited, not its wall time: a transcode that waits for idle CPU
    is slow, not stuck. Raises FfmpegFailed when it exits with an error or uses more than
    `cpu_limit` CPU seconds (then it is killed). On cancellation the process is terminated
    (SIGTERM, then SIGKILL after 5 s) before this returns.
    """
    finished: list[subprocess.CompletedProcess[bytes]] = []
    over_budget = False

    async def run(task_status: trio.TaskStatus[trio.Process]) -> None:
        finished.append(await trio.run_process(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, capture_stderr=True,
            check=False, preexec_fn=_limits(memory_limit),
            env={**os.environ, "MALLOC_ARENA_MAX": "2"}, task_status=task_status,
        ))

    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(partial(run))
        while process.returncode is None:
            used = cpu_seconds(process.pid)
            if used is not None and used > cpu_limit:
                over_budget = True
                process.kill()
                break
            await trio.sleep(CPU_POLL_S)
    result = finished[0]
    if over_budget:
        raise FfmpegFailed(f"it needed more than {cpu_limit:g} s of CPU time",
                           returncode=result.returncode, cpu_exhausted=True)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.decode(errors="replace").splitlines()]
        last = next((line for line in reversed(lines) if line), "no message")
        raise FfmpegFailed(_without_paths(last, command)[:200], returncode=result.returncode)


def _without_paths(message: str, command: list[str]) -> str:
    """`message` with the file paths of `command` removed (they are the server's business)."""
    for arg in command:
        if os.sep in arg and arg in message:
            message = message.replace(arg, "the file")
    return message
