"""Video pipeline: a 10 s 1080p30 clip through the full HLS ladder plus MP4, and photos
made while it transcodes.

    .venv/bin/python -m bench.video_pipeline [--runs 2] [--preset superfast]

1. The source: 10 s of 1920×1080 at 30 fps, a moving test pattern with film-grain-like
   noise (so x264 has real work), an AAC tone, at ~16 Mbit/s like a phone's recording.
2. Video alone: the server's own `make_renditions` (probe in a worker process, one encode
   pass for 1080/720/480/240, a copy pass into HLS, the poster through the photo
   pipeline). Speed = clip seconds / wall seconds (goal: >= 1.0× realtime on 2 cores).
3. Photos alone, then photos together with one transcode: 2 worker processes making the
   photo variant set (WebP + JPEG + placeholder + BlurHash) of a 4000×3000 JPEG
   back to back. Ratio = photos/s during the transcode over photos/s alone (goal: photos
   keep their throughput, ~1.0), with the transcode's wall time in the same run.
Never asserts timings: it prints ratios measured in the same run, next to the goals.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import trio

from bench.harness import catch_signals, emit, machine_info
from bench.photo_pipeline import make_source
from pixtrio.actors.ffmpeg import find_ffmpeg
from pixtrio.actors.worker_pool import WorkerPool, open_worker_pool
from pixtrio.codecs.photos import configure_worker, process_photo
from pixtrio.config import Settings
from pixtrio.features.media.video_job import make_renditions
from pixtrio.runtime import video_settings

CLIP_SECONDS = 10
PHOTO_WORKERS = 2
GOALS = {"realtime_multiple": 1.0, "photo_throughput_kept": 0.9}


def make_clip(ffmpeg: str, path: Path) -> None:
    """The benchmark's 10 s 1080p30 source (see the module docstring)."""
    import subprocess

    subprocess.run([
        ffmpeg, "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={CLIP_SECONDS},"
                             "noise=alls=4:allf=t+u",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}",
        "-c:v", "libx264", "-preset", "fast", "-b:v", "16M", "-maxrate", "20M", "-bufsize", "20M",
        "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(path),
    ], check=True)


async def transcode(pool: WorkerPool, settings: Settings, clip: Path, workdir: Path) -> float:
    """Wall seconds for one full ladder + MP4 + poster of `clip`."""
    await trio.Path(workdir).mkdir(parents=True)
    start = time.perf_counter()
    await make_renditions(pool, video_settings(settings), clip, "video/mp4", workdir)
    return time.perf_counter() - start


class PhotoCount:
    """Photos finished since `start`; `rate` once the stream has stopped."""

    def __init__(self) -> None:
        self.photos = 0
        self.start = time.perf_counter()
        self.end = self.start

    @property
    def rate(self) -> float:
        return self.photos / (self.end - self.start)


async def _start_photos(nursery: trio.Nursery, pool: WorkerPool, source: Path, out: Path,
                        done: trio.Event) -> PhotoCount:
    """Start PHOTO_WORKERS loops making photos back to back until `done` is set; each
    photo in flight then is finished and counted."""
    counted = PhotoCount()

    async def worker(index: int) -> None:
        while not done.is_set():
            await pool.run(partial(process_photo, avif=False), str(source), str(out / f"{index}"))
            counted.photos += 1
            counted.end = time.perf_counter()

    for index in range(PHOTO_WORKERS):
        nursery.start_soon(worker, index)
    return counted


async def measure(runs: int, settings: Settings, tmp: Path) -> dict[str, Any]:
    clip, photo = tmp / "clip.mp4", tmp / "photo.jpg"
    make_clip(settings.ffmpeg or find_ffmpeg(None), clip)
    make_source(photo)
    alone, together, photo_alone, photo_together = [], [], [], []
    async with open_worker_pool(size=PHOTO_WORKERS + 1, time_limit=120,
                                init=partial(configure_worker, 1 << 30)) as pool:
        await transcode(pool, settings, clip, tmp / "warm")  # spawn workers, imports
        for run in range(runs):
            alone.append(await transcode(pool, settings, clip, tmp / f"alone{run}"))
            async with trio.open_nursery() as nursery:  # photos alone, as long as a transcode
                done = trio.Event()
                counted = await _start_photos(nursery, pool, photo, tmp / "p", done)
                await trio.sleep(alone[-1])
                done.set()
            photo_alone.append(counted.rate)
            async with trio.open_nursery() as nursery:  # photos and one transcode together
                done = trio.Event()
                counted = await _start_photos(nursery, pool, photo, tmp / "p", done)
                together.append(await transcode(pool, settings, clip, tmp / f"together{run}"))
                done.set()
            photo_together.append(counted.rate)
    children_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    best_alone = min(alone)
    achieved = {
        "realtime_multiple": round(CLIP_SECONDS / statistics.median(alone), 2),
        "photo_throughput_kept": round(statistics.median(photo_together)
                                       / statistics.median(photo_alone), 3),
    }
    return {
        "video_alone_s": [round(s, 2) for s in alone],
        "video_alone_best_s": round(best_alone, 2),
        "video_with_photos_s": [round(s, 2) for s in together],
        "photos_per_s_alone": [round(r, 2) for r in photo_alone],
        "photos_per_s_during_transcode": [round(r, 2) for r in photo_together],
        "peak_child_rss_mb": round(children_peak_mb, 1),
        "goals": GOALS,
        "achieved": achieved,
        "met": {key: value >= GOALS[key] for key, value in achieved.items()},
        "source": {"seconds": CLIP_SECONDS, "size": [1920, 1080], "fps": 30,
                   "bytes": clip.stat().st_size},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--preset", default=None, help="x264 preset (default: the server's)")
    args = parser.parse_args()
    catch_signals()
    settings = Settings.from_env()
    if args.preset:
        settings = settings.with_overrides(video_preset=args.preset)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-video-") as tmp:
        result = trio.run(measure, args.runs, settings, Path(tmp))
    result["machine"] = machine_info()
    result["config"] = {"runs": args.runs, "preset": settings.video_preset,
                        "photo_workers": PHOTO_WORKERS}
    result["wall_s"] = round(time.perf_counter() - started, 1)
    emit("video_pipeline", result)


if __name__ == "__main__":
    main()
