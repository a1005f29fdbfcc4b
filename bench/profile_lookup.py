"""Benchmark: `GET /api/users/{username}` against the trivial `GET /healthz`, same run.

    python -m bench.profile_lookup [--duration 10] [--concurrency 32] [--rounds 2]

Starts a server, registers `bench_target`, a viewer and ~50 followers, warms up, then
alternates trivial and profile rounds and prints throughputs, latency percentiles and
`ratio_profile_to_trivial` (profile rps / trivial rps). Timings are never asserted.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.harness import (
    call,
    emit,
    machine_info,
    register,
    run_load,
    server,
    summarise,
    warm_up,
)

TARGET = "bench_target"
VIEWER = "bench_viewer"
TRIVIAL = "/healthz"
PROFILE = f"/api/users/{TARGET}"


def seed(base: str, followers: int) -> str:
    """Create the target, `followers` followers and the viewer; returns the viewer's token."""
    register(base, TARGET)
    for i in range(followers):
        token = register(base, f"bench_follower_{i}")
        call(base, "POST", f"/api/users/{TARGET}/follow", token=token)
    viewer = register(base, VIEWER)
    call(base, "POST", f"/api/users/{TARGET}/follow", token=viewer)
    profile = call(base, "GET", PROFILE, token=viewer)
    if profile["followers_count"] != followers + 1 or profile["followed_by_viewer"] is not True:
        raise RuntimeError(f"seeding did not give the expected profile: {profile}")
    return viewer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_lookup")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round")
    parser.add_argument("--concurrency", type=int, default=32, help="connections")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per endpoint")
    parser.add_argument("--followers", type=int, default=50, help="followers of the target")
    args = parser.parse_args(argv)

    started = time.monotonic()
    with server() as proc:
        viewer = seed(proc.url, args.followers)
        auth = [f"Authorization: Bearer {viewer}"]
        warm_up(proc.url, [TRIVIAL, PROFILE], headers=auth)
        runs: dict[str, list[dict[str, Any]]] = {"trivial": [], "profile": []}
        for _ in range(args.rounds):
            for name, path in (("trivial", TRIVIAL), ("profile", PROFILE)):
                runs[name].append(run_load(proc.url, path, concurrency=args.concurrency,
                                           duration=args.duration, headers=auth))
    trivial, profile = summarise(runs["trivial"]), summarise(runs["profile"])
    result = {
        "benchmark": "profile_lookup",
        "config": {"duration_s": args.duration, "concurrency": args.concurrency,
                   "rounds": args.rounds, "followers": args.followers,
                   "trivial_path": TRIVIAL, "profile_path": PROFILE},
        "trivial": trivial,
        "profile": profile,
        "ratio_profile_to_trivial": (
            round(profile["throughput_rps"] / trivial["throughput_rps"], 3)
            if trivial["throughput_rps"] else None
        ),
        "machine": machine_info(),
        "wall_s": round(time.monotonic() - started, 1),
    }
    emit("profile_lookup", result)


if __name__ == "__main__":
    main()
