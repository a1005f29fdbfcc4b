"""Benchmark: photo uploads end to end — three-step upload, then processing to `ready`.

    python -m bench.uploads [--clients 4] [--photos 24] [--megabytes 3]

Starts a server, makes a ~3 MB JPEG, and runs the clients in a separate process: each
asks for an upload URL, PUTs the bytes, publishes, and polls until the post is ready.
Prints uploads accepted per second (upload-url + PUT, the part a client waits on), the
bytes per second received, and the time from publish to `ready` (p50/p90). Timings are
never asserted.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import trio

from bench.harness import REPO, emit, machine_info, register, server


def make_photo(path: Path, megabytes: float) -> None:
    """A noisy 4:3 JPEG of about `megabytes` MB (noise keeps encoders honest)."""
    from PIL import Image

    side = 1200
    while True:
        image = Image.merge("RGB", [Image.effect_noise((side * 4 // 3, side), 60)] * 3)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=92)
        if buffer.tell() >= megabytes * 1_000_000:
            path.write_bytes(buffer.getvalue())
            return
        side = int(side * 1.25)


async def one_post(client: httpx.AsyncClient, token: str, data: bytes) -> tuple[float, float]:
    """(seconds to get the upload accepted, seconds from publish to ready)."""
    auth = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    grant = (await client.post("/api/posts/upload-url", headers=auth,
                               json={"content_type": "image/jpeg", "size": len(data)})).json()
    put = await client.put(grant["upload_url"], content=data, headers={"Content-Type": "image/jpeg"})
    put.raise_for_status()
    accepted = time.perf_counter()
    (await client.post(f"/api/posts/{grant['post_id']}/publish", headers=auth, json={})).raise_for_status()
    published = time.perf_counter()
    while True:
        post = (await client.get(f"/api/posts/{grant['post_id']}", headers=auth)).json()
        if post["status"] != "processing":
            if post["status"] != "ready":
                raise RuntimeError(f"post failed: {post}")
            return accepted - started, time.perf_counter() - published
        await trio.sleep(0.02)


async def clients(url: str, token: str, data: bytes, n_clients: int, n_photos: int) -> dict[str, Any]:
    upload_s: list[float] = []
    ready_s: list[float] = []
    queue = list(range(n_photos))

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as client:
            while queue:
                queue.pop()
                accepted, ready = await one_post(client, token, data)
                upload_s.append(accepted)
                ready_s.append(ready)

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(n_clients):
            nursery.start_soon(client_loop)
    wall = time.perf_counter() - started
    upload_busy = sum(upload_s)
    return {
        "photos": n_photos,
        "clients": n_clients,
        "photo_bytes": len(data),
        "wall_s": round(wall, 2),
        "uploads_accepted_per_s": round(n_clients * len(upload_s) / upload_busy, 2),
        "upload_mb_per_s": round(n_clients * len(data) * len(upload_s) / upload_busy / 1e6, 1),
        "upload_ms": {"p50": round(statistics.median(upload_s) * 1000, 1)},
        "publish_to_ready_ms": {
            "p50": round(statistics.median(ready_s) * 1000, 1),
            "p90": round(statistics.quantiles(ready_s, n=10)[-1] * 1000, 1),
        },
        "photos_ready_per_s": round(n_photos / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--photos", type=int, default=24)
    parser.add_argument("--megabytes", type=float, default=3.0)
    parser.add_argument("--client", nargs=3, metavar=("URL", "TOKEN", "PHOTO"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:  # the load process
        url, token, photo = args.client
        data = Path(photo).read_bytes()
        print(json.dumps(trio.run(clients, url, token, data, args.clients, args.photos)))
        return
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-photo-") as tmp, server() as proc:
        photo = Path(tmp) / "photo.jpg"
        make_photo(photo, args.megabytes)
        token = register(proc.url, "bench_uploader")
        cmd = [sys.executable, "-m", "bench.uploads", "--clients", str(args.clients),
               "--photos", str(args.photos), "--client", proc.url, token, str(photo)]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"upload clients failed:\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        emit("uploads", {"benchmark": "uploads", **result, "machine": machine_info()})


if __name__ == "__main__":
    main()
