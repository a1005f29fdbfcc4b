"""Speed of the web app's home feed: navigation to the first feed images, and LCP.

    .venv/bin/python -m bench.web_speed [--loads 20] [--users 2000] [--posts 20000]

1. Seeds a graph with the feed benchmark's seeding (`bench.feed_read.seed`, smaller by
   default), then gives the posts of one viewer's first two feed pages real media: one
   synthetic photo per seeded shape run through the server's own photo pipeline
   (`media.photos.process_photo`: 320/640/1080 in AVIF, WebP and JPEG), stored under
   each post's media keys in the server's blob store.
2. Starts the server and checks that viewer's feed against the seed.
3. Loads `/` signed in as that viewer `--loads` times in Debian's Chromium through
   Playwright, each in a fresh context (empty cache), at desktop (1280x800, DPR 1) and
   phone (375x812, DPR 2) sizes, and records: time from navigation start until the first
   5 feed images are decoded (`img.decode()`; those below the fold, which the app loads
   lazily, are switched to eager as soon as they are in the page), and Largest Contentful Paint (the last
   `largest-contentful-paint` entry once those images are in). Reports p50/p75/max
   against issue 15's goal **LCP p75 <= 1.0 s**, with the static shell's own LCP-free
   load time (`domContentLoaded`) in the same run as a baseline.
4. Image bytes per feed page: what the browser fetched for the images it chose
   (`currentSrc`) for one page of 20 posts scrolled through, against the bytes of the
   1080 JPEGs of the same posts.
Prints and writes `bench/results/web_speed.json`. Asserts nothing about timings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import trio
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import Browser, sync_playwright

from bench.feed_read import (
    LIMIT,
    SIZES,
    Seed,
    add_seed_arguments,
    check_feed,
    expected_feed,
    mark_celebrities,
    seed,
)
from bench.harness import catch_signals, emit, machine_info
from bench.redis_target import RedisTarget
from pixtrio.codecs.photos import process_photo
from pixtrio.features.media.renditions import content_type
from pixtrio.storage.blobs.filesystem import FilesystemBlobStore
from pixtrio.testing.browser import launch
from pixtrio.testing.server_process import ServerProcess

GOAL_LCP_P75_MS = 1000.0
FIRST_IMAGES = 5
VIEWPORTS = {"desktop": {"width": 1280, "height": 800, "dpr": 1},
             "phone": {"width": 375, "height": 812, "dpr": 2}}

# Resolves once the first `count` feed images are decoded: performance.now() then, the
# last LCP entry so far, and domContentLoaded, all from navigation start (ms).
MEASURE = """async (count) => {
  const lcp = [];
  new PerformanceObserver((list) => lcp.push(...list.getEntries()))
    .observe({ type: 'largest-contentful-paint', buffered: true });
  const give_up = performance.now() + 30000;
  while (document.querySelectorAll('main picture img').length < count) {
    if (performance.now() > give_up) throw new Error(`fewer than ${count} feed images after 30 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const images = [...document.querySelectorAll('main picture img')].slice(0, count);
  // Below the fold the app loads images lazily; these are asked for at once, as for a
  // reader who scrolls straight away (LCP is about the viewport and is not moved by it).
  images.forEach((img) => { img.loading = 'eager'; });
  const late = new Promise((_, fail) => setTimeout(() => fail(new Error('images not decoded in 30 s')), 30000));
  await Promise.race([Promise.all(images.map((img) => img.decode().catch(() => null))), late]);
  const decoded = performance.now();
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
  const nav = performance.getEntriesByType('navigation')[0];
  return { images_ms: decoded, lcp_ms: lcp.length ? lcp[lcp.length - 1].startTime : null,
           lcp_element: lcp.length ? (lcp[lcp.length - 1].element || {}).tagName || null : null,
           dcl_ms: nav.domContentLoadedEventEnd };
}"""


def log(message: str) -> None:
    print(message, flush=True)


def synthetic_photo(path: Path, size: tuple[int, int], number: int) -> None:
    """A photo-like JPEG: gradients, shapes, texture and grain, so encoders work as on a photo."""
    width, height = size
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    image = Image.merge("RGB", [base.getchannel(0),
                                base.getchannel(0).rotate(90 + number * 40).resize(size),
                                Image.effect_mandelbrot(size, (-2.2 + number * .1, -1.2, 1, 1.2), 60)])
    draw = ImageDraw.Draw(image)
    for i in range(40):
        x, y = (i * 97 + number * 31) % width, (i * 61 + number * 17) % height
        draw.ellipse((x, y, x + 40 + i * 5, y + 30 + i * 4),
                     fill=((i * 53) % 256, (i * 29 + number * 40) % 256, (i * 71) % 256))
    noise = Image.effect_noise(size, 40).convert("RGB")
    image = Image.blend(image.filter(ImageFilter.GaussianBlur(1.5)), noise, 0.12)
    image.save(path, "JPEG", quality=92)


def give_media(data_dir: Path, graph: Seed, viewer: int, scratch: Path,
               post_ids: list[int] | None = None) -> int:
    """Real rendition files for the posts of the viewer's first two pages (or for
    `post_ids`, when given); returns how many."""
    post_ids = post_ids or expected_feed(graph, viewer)[:2 * LIMIT]
    conn = sqlite3.connect(data_dir / "metadata.db")
    media = {pid: json.loads(text) for pid, text in conn.execute(
        f"SELECT post_id, media FROM posts WHERE post_id IN ({','.join('?' * len(post_ids))})",
        post_ids)}
    conn.close()
    made: dict[tuple[int, int], Path] = {}
    for number, shape in enumerate(SIZES):
        source = scratch / f"source-{number}.jpg"
        synthetic_photo(source, shape, number)
        out = scratch / f"renditions-{number}"
        process_photo(str(source), str(out))
        made[shape] = out
    blobs = FilesystemBlobStore(data_dir / "media")

    async def store() -> None:
        for pid in post_ids:
            fields = media[pid]
            folder = made[(fields["width"], fields["height"])]
            for files in fields["variants"].values():
                for key in files.values():
                    copy = scratch / "copy"
                    shutil.copyfile(folder / key.rsplit("/", 1)[1], copy)
                    await blobs.put_file(key, copy, content_type=content_type(key))

    trio.run(store)
    return len(post_ids)


def load_once(browser: Browser, base: str, token: str, view: dict[str, int]) -> dict[str, Any]:
    """One cold load of `/` signed in: the timings of MEASURE."""
    context = browser.new_context(viewport={"width": view["width"], "height": view["height"]},
                                  device_scale_factor=view["dpr"])
    context.add_init_script(f"localStorage.setItem('pixtrio.token', {json.dumps(token)})")
    page = context.new_page()
    page.goto(base + "/", wait_until="domcontentloaded")
    timings: dict[str, Any] = page.evaluate(MEASURE, FIRST_IMAGES)
    context.close()
    return timings


def image_bytes(browser: Browser, base: str, token: str, view: dict[str, int]) -> dict[str, Any]:
    """Scroll through the first page: bytes of the images chosen against their 1080 JPEGs."""
    context = browser.new_context(viewport={"width": view["width"], "height": view["height"]},
                                  device_scale_factor=view["dpr"])
    context.add_init_script(f"localStorage.setItem('pixtrio.token', {json.dumps(token)})")
    page = context.new_page()
    sizes: dict[str, int] = {}
    page.on("response", lambda r: sizes.__setitem__(urlsplit(r.url).path, len(r.body()))
            if "/media/" in r.url and r.status == 200 else None)
    page.goto(base + "/", wait_until="networkidle")
    for _ in range(60):  # scroll until LIMIT images are decoded
        done = page.evaluate("""(limit) => {
          const imgs = [...document.querySelectorAll('main picture img')].slice(0, limit);
          imgs.forEach((img) => img.loading = 'eager');
          window.scrollBy(0, innerHeight);
          return imgs.length >= limit && imgs.every((img) => img.complete && img.naturalWidth);
        }""", LIMIT)
        if done:
            break
        page.wait_for_timeout(100)
    chosen = page.evaluate("""(limit) => [...document.querySelectorAll('main picture img')]
      .slice(0, limit).map((img) => img.currentSrc)""", LIMIT)
    context.close()
    chosen_paths = [urlsplit(u).path for u in chosen]
    jpeg_1080 = [p.rsplit("/", 1)[0] + "/1080.jpeg" for p in chosen_paths]
    media_root = base + "/media/"
    baseline = sum(_length(media_root, p) for p in jpeg_1080)
    served = sum(sizes.get(p) or _length(media_root, p) for p in chosen_paths)
    return {"images": len(chosen_paths),
            "chosen": sorted({p.rsplit("/", 1)[1] for p in chosen_paths}),
            "bytes": served, "bytes_if_1080_jpeg": baseline,
            "ratio_to_1080_jpeg": round(served / baseline, 3) if baseline else None}


def _length(root: str, path: str) -> int:
    return len(httpx.get(root.rsplit("/media/", 1)[0] + path).content)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    lcp = [r["lcp_ms"] for r in runs if r["lcp_ms"] is not None]
    images = [r["images_ms"] for r in runs]
    dcl = [r["dcl_ms"] for r in runs]
    return {
        "loads": len(runs),
        "lcp_ms": {"p50": percentile(lcp, .5), "p75": percentile(lcp, .75), "max": max(lcp)},
        "first_5_images_ms": {"p50": percentile(images, .5), "p75": percentile(images, .75),
                              "max": round(max(images), 1)},
        "dom_content_loaded_ms": {"p50": percentile(dcl, .5), "p75": percentile(dcl, .75)},
        "lcp_elements": sorted({str(r["lcp_element"]) for r in runs}),
        "goal": {"lcp_p75_ms_at_most": GOAL_LCP_P75_MS,
                 "met": percentile(lcp, .75) <= GOAL_LCP_P75_MS},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.web_speed",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=20)
    add_seed_arguments(parser, users=2_000, follows=100, celebrities=3, posts=20_000,
                       celebrity_posts=50, viewers=10)
    args = parser.parse_args(argv)

    catch_signals()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-web-speed-") as tmp:
        data_dir, scratch = Path(tmp) / "data", Path(tmp) / "scratch"
        scratch.mkdir()
        graph = seed(data_dir, args)
        viewer = graph.viewers[0]
        posts_with_media = give_media(data_dir, graph, viewer, scratch)
        log(f"media for {posts_with_media} posts")
        with ServerProcess(data_dir) as proc:
            mark_celebrities(RedisTarget(), proc, [graph.user_ids[c] for c in graph.celebrities])
            checked = check_feed(proc.url, graph, viewer)
            token = graph.tokens[viewer]
            results: dict[str, Any] = {}
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    for name, view in VIEWPORTS.items():
                        load_once(browser, proc.url, token, view)  # warm the server's caches
                        runs = [load_once(browser, proc.url, token, view) for _ in range(args.loads)]
                        results[name] = {**summary(runs),
                                         "image_bytes_first_page": image_bytes(browser, proc.url, token, view)}
                        log(f"{name}: {json.dumps(results[name])}")
                finally:
                    browser.close()
    emit("web_speed", {
        "benchmark": "web_speed",
        "viewports": results,
        "check": checked,
        "seed": {"users": args.users, "posts": len(graph.posts), "posts_with_media": posts_with_media},
        "config": vars(args),
        "machine": machine_info(),
        "wall_s": round(time.monotonic() - started, 1),
    })


if __name__ == "__main__":
    main()
