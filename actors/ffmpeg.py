"""Running FFmpeg as a child process: niced, memory-capped, killed when cancelled."""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Callable

import trio

NICENESS = 10
"""Transcodes yield the CPU to photo workers and request handling."""


class FfmpegFailed(Exception):
    """FFmpeg exited with an error; `reason` is its last message, fit for a post's author."""

    def __init__(self, reason: str, *, returncode: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.returncode = returncode

    @property
    def killed(self) -> bool:
        """True when a signal ended it (OOM killer, operator): worth another attempt."""
        return self.returncode < 0


def find_ffmpeg(configured: str | None) -> str:
    """`configured` if set, else the FFmpeg binary bundled with imageio-ffmpeg."""
    if configured:
        return configured
    import imageio_ffmpeg

    return str(imageio_ffmpeg.get_ffmpeg_exe())


def _limits(memory_limit: int) -> Callable[[], None]:
    def apply() -> None:  # runs in the child between fork and exec
        os.nice(NICENESS)
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))

    return apply


async def run_ffmpeg(command: list[str], *, memory_limit: int) -> None:
    """Run one FFmpeg command to completion.

    Raises FfmpegFailed when it exits with an error. On cancellation the process is
    terminated (SIGTERM, then SIGKILL after 5 s) before this returns.
    """
    result = await trio.run_process(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, capture_stderr=True,
        check=False, preexec_fn=_limits(memory_limit),
        env={**os.environ, "MALLOC_ARENA_MAX": "2"},
    )
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
