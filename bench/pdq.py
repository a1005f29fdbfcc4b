"""Benchmark: the perceptual-hash blocklist's matcher and PDQ hashing per photo.

    python -m bench.pdq [--hashes 1000000] [--lookups 300] [--photos 10]

No server. 1. Builds a `HashIndex` of `--hashes` random PDQ hashes from their hex text (as
a reload from the store does) and times `--lookups` lookups, half of them near a stored
hash (a hit at distance 20), half unrelated (a miss): median and p99 per lookup, build
time and the index's memory. 2. Times PDQ hashing of a 12 MP and a 1080 px photo the way
the media worker does it (`hash_image` on the photo as `process_photo` decoded it),
beside `process_photo` itself (WebP + JPEG, no AVIF) for scale, and what a blocklist
entry from an image costs (`hash_photo`: decode, hash, 80 crops). libvips on one thread,
as in the workers. Prints JSON and writes `bench/results/pdq.json`; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pyvips

from bench.harness import emit, machine_info
from bench.photo_pipeline import make_source
from pixtrio.codecs.pdq import hash_image
from pixtrio.codecs.photos import PHOTO_BOXES, hash_photo, process_photo
from pixtrio.features.safety.hash_index import MATCH_DISTANCE, HashIndex

LOOKUP_GOAL_MS = 5.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], times: int) -> list[float]:
    """Milliseconds of each of `times` calls of `fn`."""
    out = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def summary(ms: list[float]) -> dict[str, float]:
    return {"median_ms": round(statistics.median(ms), 3), "p99_ms": round(percentile(ms, 0.99), 3),
            "max_ms": round(max(ms), 3)}


def bench_lookups(count: int, lookups: int) -> dict[str, Any]:
    rng = random.Random(17)
    rows = [(i, f"{rng.getrandbits(256):064x}") for i in range(count)]
    start = time.perf_counter()
    index = HashIndex.build(rows)
    build_s = time.perf_counter() - start
    near, far = [], []
    for _ in range(lookups // 2):
        owner, pdq = rows[rng.randrange(count)]
        value = int(pdq, 16)
        for bit in rng.sample(range(256), 20):
            value ^= 1 << bit
        near.append(f"{value:064x}")
        far.append(f"{rng.getrandbits(256):064x}")
    index.nearest(far[0])  # warm up
    hits = [index.nearest(q) for q in near]
    assert all(h is not None and h.distance == 20 for h in hits)
    assert all(index.nearest(q) is None for q in far[:5])
    near_ms = [timed(partial(index.nearest, q), 1)[0] for q in near]
    far_ms = [timed(partial(index.nearest, q), 1)[0] for q in far]
    every = near_ms + far_ms
    return {
        "hashes": count,
        "build_s": round(build_s, 2),
        "index_mb": round((index._words.nbytes + index._owners.nbytes) / 2**20, 1),  # noqa: SLF001
        "lookups": len(every),
        "all": summary(every),
        "hits": summary(near_ms),
        "misses": summary(far_ms),
        "match_distance": MATCH_DISTANCE,
        "goal_ms": LOOKUP_GOAL_MS,
        "met": percentile(every, 0.5) <= LOOKUP_GOAL_MS,
    }


def bench_hashing(workdir: Path, photos: int) -> dict[str, Any]:
    pyvips.concurrency_set(1)
    big = workdir / "12mp.jpeg"
    make_source(big)
    small = workdir / "1080.jpeg"
    pyvips.Image.thumbnail(str(big), 1080, height=1350).jpegsave(str(small), Q=90)
    out: dict[str, Any] = {}
    for name, source in (("12mp", big), ("1080px", small)):
        header = pyvips.Image.new_from_file(str(source))
        box = PHOTO_BOXES[0]
        decoded = pyvips.Image.thumbnail(str(source), box[1], height=box[2], size="down")
        decoded = decoded.copy_memory()  # as `process_photo` holds it
        process_photo(str(source), str(workdir / "out"), avif=False)  # warm up
        out[name] = {
            "source": f"{header.width}x{header.height}",
            "pdq_in_worker": summary(timed(partial(hash_image, decoded), photos * 3)),
            "process_photo": summary(timed(
                partial(process_photo, str(source), str(workdir / "out"), avif=False), photos)),
            "blocklist_entry": summary(timed(partial(hash_photo, str(source)), 3)),
        }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pdq")
    parser.add_argument("--hashes", type=int, default=1_000_000, help="hashes in the index")
    parser.add_argument("--lookups", type=int, default=300, help="lookups timed")
    parser.add_argument("--photos", type=int, default=10, help="runs per photo timing")
    args = parser.parse_args(argv)
    started = time.monotonic()
    lookups = bench_lookups(args.hashes, args.lookups)
    with tempfile.TemporaryDirectory() as workdir:
        hashing = bench_hashing(Path(workdir), args.photos)
    emit("pdq", {"lookup": lookups, "hashing": hashing, "machine": machine_info(),
                 "wall_s": round(time.monotonic() - started, 1)})


if __name__ == "__main__":
    main()
