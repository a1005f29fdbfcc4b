"""Photo pipeline throughput: `media.photos` in libvips workers against Pillow doing the same.

    .venv/bin/python -m bench.photo_pipeline [--photos 48] [--rounds 4]

Each side turns one 4000×3000 JPEG (q90) into the same outputs: 3 sizes × (WebP + JPEG),
a 20 px placeholder and a 4×4 BlurHash, with the same encoder settings, in 2 worker
processes. The libvips side is the real `process_photo` under the real `configure_worker`.
Pillow runs twice: with `Image.draft` (JPEG DCT scaling, then a resize cascade) and naive
(full decode, every size resized from the full image). Never asserts timings: it prints
ratios measured in the same run, next to the goals of the issue.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import blurhash
import pyvips
import trio
import trio_parallel
from PIL import Image, ImageFilter, ImageOps

from bench.harness import catch_signals, emit, machine_info
from pixtrio.codecs.photos import (
    JPEG_OPTIONS,
    PHOTO_BOXES,
    PLACEHOLDER_BLUR,
    PLACEHOLDER_BOX,
    PLACEHOLDER_WEBP_OPTIONS,
    WEBP_OPTIONS,
    configure_worker,
    process_photo,
)

WORKERS = 2
MEMORY_LIMIT = 1 << 30
SOURCE_SIZE = (4000, 3000)
SOURCE_QUALITY = 90
GOALS = {
    "photos_per_s": 13.0,  # WebP + JPEG + placeholder + BlurHash, 2 worker processes
    "ratio_vs_pillow_draft": 1.15,
    "ratio_vs_pillow_naive": 2.5,
    "peak_rss_mb": 120.0,  # per worker process
}
# media.photos encodes with Pillow too, so both sides use the very same encoder settings.
WEBP = WEBP_OPTIONS
JPEG = JPEG_OPTIONS
PLACEHOLDER_WEBP = PLACEHOLDER_WEBP_OPTIONS

Job = Callable[[str, str], object]


def make_source(path: Path) -> None:
    """A photo-like 4000×3000 JPEG: smooth colour fields, multi-scale texture, edges, noise."""
    width, height = SOURCE_SIZE

    def fractal(seed: int, octaves: tuple[tuple[int, float], ...]) -> pyvips.Image:
        layers = [pyvips.Image.perlin(width, height, cell_size=cell, seed=seed * 10 + i) * amp
                  for i, (cell, amp) in enumerate(octaves)]
        total = layers[0]
        for layer in layers[1:]:
            total += layer
        return total

    xyz = pyvips.Image.xyz(width, height)
    gradient = xyz[0] / width * 50 + xyz[1] / height * 30
    cells = pyvips.Image.worley(width, height, cell_size=250, seed=5)
    luma = (fractal(9, ((160, 0.6), (40, 0.5), (10, 0.4), (3, 0.3))) * 80
            + cells / cells.max() * 70
            + pyvips.Image.gaussnoise(width, height, sigma=3, mean=0, seed=7))
    bands = [fractal(seed, ((800, 1.0), (200, 0.5))) * 90 + 90 + gradient * slope + luma
             for seed, slope in ((1, 1.0), (2, 0.4), (3, -0.5))]
    image = bands[0].bandjoin(bands[1:]).cast("uchar")
    image.jpegsave(str(path), Q=SOURCE_QUALITY)


def pillow_photo(source: str, out_dir: str, draft: bool) -> tuple[str, str]:
    """What `process_photo(avif=False)` makes, made with Pillow (`draft`: DCT scaling).

    Writes the same six files; returns (placeholder data URI, BlurHash).
    """
    os.makedirs(out_dir, exist_ok=True)
    with Image.open(source) as opened:
        full_size = opened.size
        if draft:
            opened.draft("RGB", _fit_size(full_size, PHOTO_BOXES[0][1], PHOTO_BOXES[0][2]))
        opened.load()
        ImageOps.exif_transpose(opened, in_place=True)
        image = opened if opened.mode == "RGB" else opened.convert("RGB")
        variant = image
        for label, width, height in PHOTO_BOXES:
            variant = _pillow_fit(variant if draft else image, width, height)
            _write(out_dir, f"{label}.webp", _pillow_encode(variant, "WEBP", WEBP))
            _write(out_dir, f"{label}.jpeg", _pillow_encode(variant, "JPEG", JPEG))
        tiny = _pillow_fit(variant if draft else image, PLACEHOLDER_BOX, PLACEHOLDER_BOX)
        blurred = tiny.filter(ImageFilter.GaussianBlur(PLACEHOLDER_BLUR))
        data = _pillow_encode(blurred, "WEBP", PLACEHOLDER_WEBP)
        placeholder = "data:image/webp;base64," + base64.b64encode(data).decode("ascii")
        return placeholder, _blurhash(tiny.tobytes(), tiny.width)


def _fit_size(size: tuple[int, int], box_w: int, box_h: int) -> tuple[int, int]:
    width, height = size
    scale = min(box_w / width, box_h / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _pillow_fit(image: Image.Image, box_w: int, box_h: int) -> Image.Image:
    size = _fit_size(image.size, box_w, box_h)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def _pillow_encode(image: Image.Image, fmt: str, options: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _write(directory: str, name: str, data: bytes) -> None:
    temp = os.path.join(directory, f".{name}.tmp")
    with open(temp, "wb") as file:
        file.write(data)
    os.replace(temp, os.path.join(directory, name))


def _blurhash(rgb: bytes, width: int) -> str:
    rows = [[list(rgb[i:i + 3]) for i in range(start, start + 3 * width, 3)]
            for start in range(0, len(rgb), 3 * width)]
    return str(blurhash.encode(rows, 4, 4))


def peak_rss() -> tuple[int, float]:
    """(pid, peak resident set in MiB) of this worker; lingers so each worker answers once.

    Reads VmHWM: `ru_maxrss` would also count the parent's RSS at fork time, which Linux
    carries across the exec of a spawned worker.
    """
    time.sleep(0.3)
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return os.getpid(), int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (not Linux?)")


def _init_pillow() -> None:
    """Pillow workers get no hardening, only the same single thread per process."""


async def _run_batch(ctx: trio_parallel.WorkerContext, job: Job, source: Path, out: Path,
                     count: int) -> tuple[float, list[float]]:
    """`count` photos through `ctx`, WORKERS at a time; (wall seconds, per-photo seconds)."""
    limiter = trio.CapacityLimiter(WORKERS)
    durations: list[float] = []

    async def one(index: int) -> None:
        async with limiter:
            start = time.perf_counter()
            await ctx.run_sync(job, str(source), str(out / str(index)))
            durations.append(time.perf_counter() - start)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for index in range(count):
            nursery.start_soon(one, index)
    return time.perf_counter() - start, durations


async def _peak_rss(ctx: trio_parallel.WorkerContext) -> list[float]:
    answers: dict[int, float] = {}

    async def ask() -> None:
        pid, mib = await ctx.run_sync(peak_rss)
        answers[pid] = mib

    async with trio.open_nursery() as nursery:
        for _ in range(WORKERS):
            nursery.start_soon(ask)
    return [round(mib, 1) for _, mib in sorted(answers.items())]


def _output_bytes(out: Path) -> int:
    """Bytes of the image files of one photo (to show both sides did the same work)."""
    return sum(path.stat().st_size for path in (out / "0").iterdir()
               if path.suffix in (".webp", ".jpeg", ".avif"))


async def measure(photos: int, rounds: int, tmp: Path) -> dict[str, Any]:
    source = tmp / "source.jpg"
    make_source(source)
    vips_init = partial(configure_worker, MEMORY_LIMIT)
    modes: dict[str, tuple[Job, Any, int]] = {
        "vips": (partial(process_photo, avif=False), vips_init, photos),
        "pillow_draft": (partial(pillow_photo, draft=True), _init_pillow, photos),
        "vips_avif": (partial(process_photo, avif=True), vips_init, photos),
        "pillow_naive": (partial(pillow_photo, draft=False), _init_pillow, max(2, photos // 2)),
    }
    results: dict[str, Any] = {}
    for name in modes:
        results[name] = {"photos": 0, "wall_s": 0.0, "durations": [], "rounds_photos_per_s": []}
    async with trio.open_nursery() as nursery:
        contexts: dict[str, trio_parallel.WorkerContext] = {}
        for name, (_, init, _) in modes.items():
            contexts[name] = await nursery.start(_hold_context, init)
        for name, (job, _, _) in modes.items():  # warm-up: spawn workers, imports, first calls
            await _run_batch(contexts[name], job, source, tmp / "warm" / name, 2 * WORKERS)
        # Alternate the modes round by round so slow drifts of the machine hit all alike.
        for round_index in range(rounds):
            for name, (job, _, count) in modes.items():
                wall, durations = await _run_batch(contexts[name], job, source,
                                                   tmp / f"r{round_index}" / name, count)
                entry = results[name]
                entry["photos"] += count
                entry["wall_s"] += wall
                entry["durations"] += durations
                entry["rounds_photos_per_s"].append(round(count / wall, 2))
        for name in modes:
            results[name]["peak_rss_mb"] = await _peak_rss(contexts[name])
            results[name]["output_bytes_per_photo"] = _output_bytes(tmp / "r0" / name)
        nursery.cancel_scope.cancel()
    for entry in results.values():
        durations = entry.pop("durations")
        entry["photos_per_s"] = round(entry["photos"] / entry["wall_s"], 2)
        entry["median_ms"] = round(statistics.median(durations) * 1000, 1)
        entry["wall_s"] = round(entry["wall_s"], 2)
    vips = results["vips"]["photos_per_s"]
    achieved = {
        "photos_per_s": vips,
        "ratio_vs_pillow_draft": round(vips / results["pillow_draft"]["photos_per_s"], 3),
        "ratio_vs_pillow_naive": round(vips / results["pillow_naive"]["photos_per_s"], 3),
        "peak_rss_mb": max(results["vips"]["peak_rss_mb"]),
    }
    met = {key: (value <= GOALS[key] if key == "peak_rss_mb" else value >= GOALS[key])
           for key, value in achieved.items()}
    return {
        **results,
        "ratio_vs_pillow_draft": achieved["ratio_vs_pillow_draft"],
        "ratio_vs_pillow_naive": achieved["ratio_vs_pillow_naive"],
        "goals": GOALS,
        "achieved": achieved,
        "met": met,
        "source": {"size": list(SOURCE_SIZE), "quality": SOURCE_QUALITY,
                   "bytes": source.stat().st_size},
    }


async def _hold_context(init: Callable[[], object], *,
                        task_status: trio.TaskStatus[trio_parallel.WorkerContext]
                        = trio.TASK_STATUS_IGNORED) -> None:
    """Keep a worker context open until cancelled; its workers are shut down on the way out."""
    async with trio_parallel.open_worker_context(init=init) as ctx:
        task_status.started(ctx)
        await trio.sleep_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=48, help="photos per mode and round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    catch_signals()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-photos-") as tmp:
        result = trio.run(measure, args.photos, args.rounds, Path(tmp))
    result["machine"] = machine_info()
    result["config"] = {"photos": args.photos, "rounds": args.rounds, "workers": WORKERS,
                        "memory_limit_bytes": MEMORY_LIMIT}
    result["wall_s"] = round(time.perf_counter() - started, 1)
    emit("photo_pipeline", result)


if __name__ == "__main__":
    main()
