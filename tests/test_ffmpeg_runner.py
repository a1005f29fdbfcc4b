"""Running FFmpeg: error reasons, the CPU budget, and cancellation."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from pixtrio.actors.ffmpeg import FfmpegFailed, run_ffmpeg
from tests.support.videos import FFMPEG

ENDLESS = [FFMPEG, "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
           "testsrc2=size=640x360:rate=30", "-c:v", "libx264", "-preset", "ultrafast",
           "-f", "null", "-"]


def children() -> set[int]:
    """Pids of this process's live children."""
    pids: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        pids |= {int(p) for p in (task / "children").read_text().split()}
    return pids


async def test_an_error_gives_ffmpegs_reason_without_paths(tmp_path: Path) -> None:
    missing = tmp_path / "missing.mp4"
    with pytest.raises(FfmpegFailed) as failed:
        await run_ffmpeg([FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(missing),
                          "-f", "null", "-"], memory_limit=1 << 31, cpu_limit=60)
    assert str(tmp_path) not in failed.value.reason
    assert "No such file or directory" in failed.value.reason
    assert failed.value.returncode > 0 and not failed.value.killed


async def test_a_run_past_its_cpu_budget_is_killed() -> None:
    before = children()
    with pytest.raises(FfmpegFailed) as failed:
        await run_ffmpeg(ENDLESS, memory_limit=1 << 31, cpu_limit=0.5)
    assert failed.value.cpu_exhausted and not failed.value.killed
    assert failed.value.reason == "it needed more than 0.5 s of CPU time"
    assert children() - before == set()


async def test_cancellation_stops_ffmpeg() -> None:
    before = children()
    with trio.move_on_after(0.5):
        await run_ffmpeg(ENDLESS, memory_limit=1 << 31, cpu_limit=600)
    assert children() - before == set()
