"""Feed read: `GET /api/feed?limit=20` on a seeded graph against `GET /healthz`, same run.

    .venv/bin/python -m bench.feed_read [--users 20000] [--follows 200] [--celebrities 5]
        [--posts 200000] [--viewers 2000] [--duration 10] [--rounds 2] [--concurrency 32]
        [--cluster]

1. Seeds SQLite directly, before the server starts: `--users` users who each follow
   `--follows` others (every `--celebrities` celebrity, followed by everybody, plus
   random others; each active viewer mutes `--mutes` regular followees and blocks
   `--blocks` users it does not follow, whose follow of it goes; `--private` of the
   regulars are private accounts, their media signed), `--posts` ready photo
   posts with realistic media JSON and captions
   spread over the last `--days` days (ids made from their `created_at` the way
   `server.ids` makes them), and a bearer token for each of `--viewers` active viewers.
2. Starts the server on that data dir (its Redis the embedded Valkey, or with `--cluster`
   a throwaway 3-primary Valkey Cluster) and puts the celebrities into the pulled set
   (`keys.celebrities()`), as the server does once an author crosses the threshold.
3. Checks one viewer's first two pages against the feed computed from the seed (posts of
   the viewer and their followees less the muted ones, newest first, celebrity posts
   included); fails loudly
   if they differ.
4. Cold pass: every active viewer's feed read once (builds their timeline from the store
   and fills the post cache); reports its wall time and reads per second.
5. Alternates closed-loop rounds `trivial, profile, feed, ...` (every request carries a
   viewer's token, rotating over all active viewers), then runs the feed open loop at
   half of the feed's measured peak. Reports throughputs, latency percentiles, server
   and Valkey CPU per request (summed over a cluster's nodes), the ratio feed / trivial
   and the issue's goals.
Never asserts timings.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import random
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import blurhash
import trio
from PIL import Image, ImageFilter

from bench.harness import (
    call,
    catch_signals,
    cpu_seconds,
    emit,
    machine_info,
    run_load,
    summarise,
    warm_up,
)
from bench.redis_target import RedisTarget, add_cluster_argument, redis_target
from pixtrio.features.accounts.service import hash_token
from pixtrio.features.ids import EPOCH_MS, SEQUENCE_BITS, WORKER_BITS, id_time_ms
from pixtrio.features.media.keys import MediaKeys
from pixtrio.secret import load_or_create_secret
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import open_redis
from pixtrio.storage.sqlite import SCHEMA, SqliteStore
from pixtrio.testing.server_process import ServerProcess

TRIVIAL = "/healthz"
LIMIT = 20
FEED = f"/api/feed?limit={LIMIT}"
GOALS = {"feed_p99_ms_at_half_peak": 25.0, "feed_to_trivial_ratio": 0.5}

SEED_WORKER = 1023
"""The id-generator worker field of seeded ids (the server leases its own from 0 up)."""
DAY_MS = 86_400_000
SEQUENCE_SPAN = 1 << SEQUENCE_BITS

PHRASES = [
    "Golden hour at the harbour", "Sunday market finds", "First coffee of the day",
    "The view from the top was worth every step", "Rainy streets, warm lights",
    "Weekend hike with the crew", "Tried a new recipe tonight", "Old town wandering",
    "Fog rolling in over the hills", "Morning run, empty beach", "Back in the darkroom",
    "Street corner, late afternoon", "Grandma's garden in full bloom", "Concert night",
    "Lazy afternoon with this one", "Rooftop season is back", "Snow day", "Train window",
]
TAGS = ["sunset", "travel", "food", "streetphotography", "nature", "coffee", "cityscape",
        "portrait", "dogsofpixtrio", "film", "hiking", "architecture", "beach", "bnw"]
PLACES = ["Lisbon", "Kyoto", "Brooklyn, NY", "Cape Town", "Reykjavik", "Oaxaca", "Berlin",
          "Melbourne", "Edinburgh", "Hanoi"]
CAMERAS: list[dict[str, str] | None] = [
    {"make": "Apple", "model": "iPhone 15 Pro"}, {"make": "Google", "model": "Pixel 8"},
    {"make": "SONY", "model": "ILCE-7M4"}, {"make": "FUJIFILM", "model": "X100V"},
    {"make": "samsung", "model": "SM-S918B"}, None, None,
]
SIZES = [(1080, 1350), (1012, 1350), (1080, 810), (1080, 1080), (1080, 608)]
VARIANT_BOXES = {"1080": 1080, "640": 640, "320": 320}
FORMATS = ("webp", "jpeg", "avif")


# seeding


@dataclass
class Seed:
    """What the benchmark needs to know about the seeded graph."""

    user_ids: list[int]
    usernames: list[str]
    celebrities: list[int]  # user indexes
    viewers: list[int]  # user indexes with a token
    tokens: dict[int, str]  # user index -> bearer token
    followees: dict[int, list[int]]  # of the checked viewers only
    posts: list[tuple[int, int]] = field(default_factory=list)  # (post_id, author index), ascending
    follows: int = 0
    seconds: float = 0.0
    db_mb: float = 0.0


def log(message: str) -> None:
    print(f"[feed_read] {message}", file=sys.stderr, flush=True)


def ids_at(times_ms: list[int]) -> list[int]:
    """Ids as `server.ids.IdGenerator` makes them at these (ascending) Unix milliseconds,
    with worker field SEED_WORKER: one a millisecond, counting the sequence up when two
    fall in the same one."""
    ids, last, sequence = [], -1, 0
    for at in times_ms:
        now = at - EPOCH_MS
        if now <= last:
            now, sequence = last, sequence + 1
            if sequence == SEQUENCE_SPAN:
                now, sequence = now + 1, 0
        else:
            sequence = 0
        last = now
        ids.append((now << (WORKER_BITS + SEQUENCE_BITS)) | (SEED_WORKER << SEQUENCE_BITS)
                   | sequence)
    return ids


def placeholders(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(placeholder data URI, BlurHash) pairs made like the server's from small gradients."""
    made = []
    for _ in range(count):
        top = tuple(rng.randrange(256) for _ in range(3))
        bottom = tuple(rng.randrange(256) for _ in range(3))
        pixels = [[[min(255, max(0, int(t + (b - t) * y / 14 + rng.randrange(-20, 21))))
                    for t, b in zip(top, bottom, strict=True)] for _ in range(20)]
                  for y in range(15)]
        tiny = Image.frombytes("RGB", (20, 15), bytes(c for row in pixels for px in row
                                                      for c in px))
        out = io.BytesIO()
        tiny.filter(ImageFilter.GaussianBlur(0.7)).save(out, "WEBP", quality=40, method=4)
        uri = "data:image/webp;base64," + base64.b64encode(out.getvalue()).decode("ascii")
        rows = pixels
        made.append((uri, str(blurhash.encode(rows, 4, 4))))
    return made


def media_json(post_id: int, created_ms: int, rng: random.Random, media_keys: MediaKeys,
               blurs: list[tuple[str, str]]) -> str:
    """A ready photo's `media`, shaped like `server.processing.media_fields`."""
    prefix = media_keys.post_file(post_id, "")
    width, height = rng.choice(SIZES)
    placeholder, hash_ = rng.choice(blurs)
    taken = None
    if rng.random() < 0.8:
        taken = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                              time.gmtime((created_ms - rng.randrange(3 * DAY_MS)) / 1000))
    return json.dumps({
        "width": width, "height": height,
        "variants": {label: {fmt: f"{prefix}{label}.{fmt}" for fmt in FORMATS}
                     for label in VARIANT_BOXES},
        "placeholder": placeholder, "blurhash": hash_, "taken_at": taken,
        "camera": rng.choice(CAMERAS),
    })


def caption(rng: random.Random) -> tuple[str, str]:
    """A caption and its hashtags (JSON), as `server.text.hashtags` reads them."""
    tags = rng.sample(TAGS, rng.choice((0, 1, 2, 3)))
    text = rng.choice(PHRASES) + rng.choice((".", "!", "", " :)"))
    if tags:
        text += " " + " ".join(f"#{t}" for t in tags)
    return text, json.dumps(tags)


def seed(data_dir: Path, args: argparse.Namespace) -> Seed:
    """Create the schema through `SqliteStore`, then bulk insert the graph with sqlite3."""
    started = time.perf_counter()
    rng = random.Random(args.seed)
    path = data_dir / "metadata.db"
    media_keys = MediaKeys(load_or_create_secret(data_dir))  # the secret the server will use

    async def create_schema() -> None:
        store = await SqliteStore.open(path)
        await store.aclose()

    trio.run(create_schema)
    n, follows_each = args.users, args.follows
    now_ms = int(time.time() * 1000)
    posts_from = now_ms - args.days * DAY_MS
    # Users joined over the two years before the posts' window.
    joined = sorted(rng.randrange(posts_from - 730 * DAY_MS, posts_from) for _ in range(n))
    user_ids = ids_at(joined)
    everyone = list(range(n))
    celebrities = sorted(rng.sample(everyone, args.celebrities))
    celebrity_set = set(celebrities)
    regulars = [u for u in everyone if u not in celebrity_set]
    usernames = [f"celeb_{u}" if u in celebrity_set else f"user_{u:05d}" for u in everyone]
    viewers = rng.sample(regulars, min(args.viewers, len(regulars)))
    checked = viewers[:2]
    viewer_set = set(viewers)
    mutes: list[tuple[int, int]] = []  # (muter, muted) user ids
    blocks: list[tuple[int, int]] = []  # (blocker, blocked) user ids
    followees: dict[int, list[int]] = {}
    followers_count = [0] * n

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")  # seeding only: the server reopens it in WAL
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    indexes = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")]
    for name in indexes:  # rebuilt (sorted, much faster) by SCHEMA once the rows are in
        conn.execute(f"DROP INDEX {name}")

    edge_base = posts_from - 7 * DAY_MS - EPOCH_MS  # follow edges made the week before

    def edges() -> Iterator[tuple[int, int, int]]:
        edge = 0
        others = follows_each - len(celebrities)
        for u in everyone:
            chosen = {c for c in celebrities if c != u}
            while len(chosen) < follows_each:
                chosen.update(x for x in rng.sample(regulars, others + 1) if x != u)
                while len(chosen) > follows_each:
                    chosen.remove(next(x for x in chosen if x not in celebrity_set))
            ordered = sorted(chosen)
            if u in viewer_set:  # each active viewer mutes two of their regular followees
                muted = rng.sample([f for f in ordered if f not in celebrity_set], args.mutes)
                mutes.extend((user_ids[u], user_ids[f]) for f in muted)
                outside = [x for x in rng.sample(regulars, args.blocks + follows_each + 1)
                           if x != u and x not in chosen]
                blocks.extend((user_ids[u], user_ids[x]) for x in outside[:args.blocks])
            if u in checked:
                followees[u] = [f for f in ordered if (user_ids[u], user_ids[f]) not in mutes]
            for f in ordered:
                followers_count[f] += 1
                edge_id = (((edge_base + edge // SEQUENCE_SPAN) << (WORKER_BITS + SEQUENCE_BITS))
                           | (SEED_WORKER << SEQUENCE_BITS) | edge % SEQUENCE_SPAN)
                edge += 1
                yield user_ids[u], user_ids[f], edge_id
            if u % 5000 == 4999:
                log(f"seed: follows of {u + 1:,} users")

    conn.execute("BEGIN")
    conn.executemany("INSERT INTO follows (follower_id, followee_id, edge_id) VALUES (?, ?, ?)",
                     edges())
    # Blocks and mutes, as the visibility rule sees them: a blocked user's follow of the
    # blocker goes (the blocker follows none of those it blocks).
    conn.executemany("DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
                     [(x, u) for u, x in blocks])
    relation_edge = iter(range(edge_base << (WORKER_BITS + SEQUENCE_BITS), 1 << 62))
    conn.executemany("INSERT INTO user_relations (kind, from_id, to_id, edge_id)"
                     " VALUES (?, ?, ?, ?)",
                     [(kind, a, b, next(relation_edge))
                      for kind, pairs in (("mute", mutes), ("block", blocks)) for a, b in pairs])
    conn.execute("COMMIT")
    follows = n * follows_each
    log(f"seed: {follows:,} follows in {time.perf_counter() - started:.1f} s")

    # Posts: each celebrity posts --celebrity-posts, the rest spread unevenly over the
    # regulars (a few prolific, most occasional); the newest post is a celebrity's.
    weights = [min(rng.paretovariate(1.2), 50.0) for _ in regulars]
    celebrity_posts = min(args.posts, args.celebrity_posts * len(celebrities))
    authors = [c for c in celebrities for _ in range(args.celebrity_posts)][:celebrity_posts]
    authors += rng.choices(regulars, weights=weights, k=args.posts - celebrity_posts)
    rng.shuffle(authors)
    if celebrity_posts:
        last_celebrity = max(i for i, a in enumerate(authors) if a in celebrity_set)
        authors[-1], authors[last_celebrity] = authors[last_celebrity], authors[-1]
    post_ids = ids_at(sorted(rng.randrange(posts_from, now_ms - 60_000) for _ in authors))
    posts_count = [0] * n
    blurs = placeholders(rng, 48)

    def post_rows() -> Iterator[tuple[Any, ...]]:
        for i, (post_id, author) in enumerate(zip(post_ids, authors, strict=True)):
            created = id_time_ms(post_id)
            text, tags = caption(rng)
            posts_count[author] += 1
            yield (post_id, user_ids[author], "photo", "ready", text,
                   rng.choice(PLACES) if rng.random() < 0.4 else "",
                   "A photo" if rng.random() < 0.3 else "", tags,
                   media_json(post_id, created, rng, media_keys, blurs), created)
            if i % 50_000 == 49_999:
                log(f"seed: {i + 1:,} posts")

    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO posts (post_id, author_id, kind, status, caption, location, alt_text,"
        " hashtags, media, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", post_rows())
    private = {u for u in regulars if rng.random() < args.private}
    conn.executemany(
        "INSERT INTO users (user_id, username, email, password_hash, display_name, bio,"
        " followers_count, following_count, posts_count, created_at, is_private)"
        " VALUES (?, ?, ?, 'x', ?, ?, ?, ?, ?, ?, ?)",
        [(user_ids[u], usernames[u], f"{usernames[u]}@example.com",
          usernames[u].replace("_", " ").title(), "Photos, mostly." if u % 3 else "",
          followers_count[u], follows_each, posts_count[u], id_time_ms(user_ids[u]),
          int(u in private))
         for u in everyone])
    tokens = {u: secrets.token_urlsafe(32) for u in viewers}
    conn.executemany("INSERT INTO tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                     [(hash_token(t), user_ids[u], now_ms) for u, t in tokens.items()])
    conn.execute("COMMIT")
    log(f"seed: {len(authors):,} posts, users, tokens in {time.perf_counter() - started:.1f} s")
    conn.executescript(SCHEMA)  # the indexes dropped above
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    seconds = time.perf_counter() - started
    log(f"seed: indexes built; {seconds:.1f} s in all")
    return Seed(user_ids, usernames, celebrities, viewers, tokens, followees,
                list(zip(post_ids, authors, strict=True)), follows, round(seconds, 1),
                round(path.stat().st_size / 2**20, 1))


# checks


def expected_feed(graph: Seed, viewer: int) -> list[int]:
    """The viewer's whole feed by the seed: their own and their followees' posts, newest first."""
    authors = {viewer, *graph.followees[viewer]}
    return [post_id for post_id, author in reversed(graph.posts) if author in authors]


def check_feed(base: str, graph: Seed, viewer: int) -> dict[str, Any]:
    """Compare the viewer's first two pages with the seed; raises RuntimeError if they differ."""
    token = graph.tokens[viewer]
    want = expected_feed(graph, viewer)[:2 * LIMIT]
    first = call(base, "GET", FEED, token=token)
    second = call(base, "GET", f"{FEED}&cursor={quote(first['next_cursor'])}", token=token)
    got = [int(p["post_id"]) for p in first["posts"] + second["posts"]]
    authors = dict(graph.posts)
    celebrity_set = set(graph.celebrities)
    shown_celebrity = [p for p in got[:LIMIT] if authors.get(p) in celebrity_set]
    wrong_authors = [p for p in first["posts"]
                     if p["author"]["username"] != graph.usernames[authors[int(p["post_id"])]]]
    problems = []
    if len(first["posts"]) != LIMIT:
        problems.append(f"first page has {len(first['posts'])} posts, not {LIMIT}")
    if got != want:
        problems.append(f"pages differ from the seed:\n got  {got}\n want {want}")
    if not shown_celebrity:
        problems.append("no celebrity post on the first page")
    if graph.posts[-1][0] != got[0]:
        problems.append(f"the newest post (a celebrity's, {graph.posts[-1][0]}) is not first")
    if wrong_authors:
        problems.append(f"wrong authors on {[p['post_id'] for p in wrong_authors]}")
    if any(not p["media_url"] or not p["placeholder"] for p in first["posts"]):
        problems.append("a post without media_url or placeholder")
    if problems:
        raise RuntimeError(f"feed of {graph.usernames[viewer]} is wrong: " + "; ".join(problems))
    return {"viewer": graph.usernames[viewer], "posts": len(got),
            "celebrity_posts_on_first_page": len(shown_celebrity),
            "first_page_json_bytes": len(json.dumps(first, separators=(",", ":")))}


# redis


def mark_celebrities(target: RedisTarget, proc: ServerProcess, user_ids: list[int]) -> None:
    async def run() -> None:
        async with open_redis(target.address(proc), cluster=target.cluster) as redis:
            await redis.sadd(keys.celebrities(), [str(u) for u in user_ids])

    trio.run(run)


def redis_figures(target: RedisTarget, proc: ServerProcess,
                  viewer_ids: list[int]) -> dict[str, Any]:
    """How many viewers' timelines exist, and Valkey's memory (summed over the nodes)."""
    async def run() -> dict[str, Any]:
        async with open_redis(target.address(proc), cluster=target.cluster) as redis, \
                target.node_clients(proc) as nodes:
            built = 0
            for start in range(0, len(viewer_ids), 1000):
                names = [keys.timeline(v) for v in viewer_ids[start:start + 1000]]
                built += await redis.exists(names)
            used = sum([int(str((await node.info("memory"))["used_memory"])) for node in nodes])
        return {"timelines_built": built, "used_memory_mb": round(used / 2**20, 1)}

    return trio.run(run)


# measuring


class Measure:
    """Runs `bench.load` rounds and notes the CPU the server and its Valkey spent in each."""

    def __init__(self, proc: ServerProcess, valkey_pids: list[int], header_file: Path,
                 concurrency: int) -> None:
        self.proc = proc
        self.header_file = header_file
        self.concurrency = concurrency
        assert proc.process is not None
        self.pids: dict[str, int | list[int] | None] = {"server": proc.process.pid,
                                                        "valkey": valkey_pids or None}

    def run(self, path: str, duration: float, **kwargs: Any) -> dict[str, Any]:
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        result = run_load(self.proc.url, path, concurrency=self.concurrency, duration=duration,
                          header_file=self.header_file, **kwargs)
        for name, pid in self.pids.items():
            start, end = before[name], cpu_seconds(pid)
            result[f"{name}_cpu_s"] = None if start is None or end is None else end - start
        return result


def measure(proc: ServerProcess, target: RedisTarget, graph: Seed, args: argparse.Namespace,
            workdir: Path) -> dict[str, Any]:
    base = proc.url
    mark_celebrities(target, proc, [graph.user_ids[c] for c in graph.celebrities])
    checked = check_feed(base, graph, graph.viewers[0])
    log(f"first page of {checked['viewer']} matches the seed (cold)")

    header_file = workdir / "viewers.headers"
    header_file.write_text("".join(f"Authorization: Bearer {graph.tokens[v]}\n"
                                   for v in graph.viewers))
    load = Measure(proc, target.valkey_pids(proc), header_file, args.concurrency)
    log(f"cold pass: one feed read for each of {len(graph.viewers):,} viewers")
    cold = load.run(FEED, 600.0, requests=len(graph.viewers))
    if cold["errors"] or cold["requests"] != len(graph.viewers):
        raise RuntimeError(f"cold pass failed: {cold}")
    check_feed(base, graph, graph.viewers[1])
    check_feed(base, graph, graph.viewers[0])
    log("pages match the seed (warm)")
    redis = redis_figures(target, proc, [graph.user_ids[v] for v in graph.viewers])

    followed = [u for u in graph.followees[graph.viewers[0]] if u not in graph.celebrities]
    profile = f"/api/users/{graph.usernames[followed[0]]}"  # a regular user the viewer follows
    paths = {"trivial": TRIVIAL, "profile": profile, "feed": FEED}
    warm_up(base, list(paths.values()), header_file=header_file, concurrency=args.concurrency)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in paths}
    for round_ in range(args.rounds):
        for name, path in paths.items():
            log(f"round {round_ + 1}/{args.rounds}: {name} closed loop")
            runs[name].append(load.run(path, args.duration))
    summary = {name: summarise(r) for name, r in runs.items()}
    peak = summary["feed"]["throughput_rps"]
    rate = round(peak / 2, 1)
    open_runs = []
    for round_ in range(args.rounds):
        log(f"round {round_ + 1}/{args.rounds}: feed open loop at {rate} req/s")
        open_runs.append(load.run(FEED, args.duration, rate=rate))
    feed_open = summarise(open_runs)
    feed_open["rate_rps"] = rate
    feed_open["scheduled"] = sum(r.get("scheduled", 0) for r in open_runs)

    trivial_rps = summary["trivial"]["throughput_rps"]
    ratio = round(peak / trivial_rps, 3) if trivial_rps else None
    achieved = {"feed_p99_ms_at_half_peak": feed_open["latency_ms"]["p99"],
                "feed_to_trivial_ratio": ratio}
    met = {
        "feed_p99_ms_at_half_peak": (achieved["feed_p99_ms_at_half_peak"] is not None
                                     and achieved["feed_p99_ms_at_half_peak"]
                                     <= GOALS["feed_p99_ms_at_half_peak"]),
        "feed_to_trivial_ratio": ratio is not None and ratio >= GOALS["feed_to_trivial_ratio"],
    }
    profile_rps = summary["profile"]["throughput_rps"]
    return {
        "trivial": summary["trivial"],
        "profile": summary["profile"],
        "feed_peak": summary["feed"],
        "feed_half_peak": feed_open,
        "ratio_feed_to_trivial": ratio,
        "ratio_profile_to_trivial": round(profile_rps / trivial_rps, 3) if trivial_rps else None,
        "ratio_feed_to_profile": round(peak / profile_rps, 3) if profile_rps else None,
        "goals": GOALS, "achieved": achieved, "met": met,
        "cold": {
            "viewers": len(graph.viewers),
            "wall_s": cold["duration_s"],
            "reads_per_s": cold["throughput_rps"],
            "latency_ms": cold["latency_ms"],
            "server_cpu_ms_per_read": (round(cold["server_cpu_s"] * 1000 / len(graph.viewers), 3)
                                       if cold.get("server_cpu_s") is not None else None),
        },
        "check": {**checked, "matches_seed": "cold and warm"},
        "redis": {**target.describe(), **redis},
        "paths": paths,
    }


def add_seed_arguments(parser: argparse.ArgumentParser, *, users: int, follows: int,
                       celebrities: int, posts: int, celebrity_posts: int, viewers: int) -> None:
    """The options `seed` reads, with these defaults (the graph spans `--days`, 30)."""
    parser.add_argument("--users", type=int, default=users)
    parser.add_argument("--follows", type=int, default=follows, help="followees per user")
    parser.add_argument("--celebrities", type=int, default=celebrities,
                        help="users everybody follows (pulled at read time)")
    parser.add_argument("--posts", type=int, default=posts)
    parser.add_argument("--celebrity-posts", type=int, default=celebrity_posts,
                        help="posts per celebrity")
    parser.add_argument("--days", type=int, default=30, help="the posts span this many days")
    parser.add_argument("--viewers", type=int, default=viewers, help="active viewers (tokens)")
    parser.add_argument("--mutes", type=int, default=2,
                        help="regular followees each active viewer mutes")
    parser.add_argument("--blocks", type=int, default=2,
                        help="users each active viewer blocks (their follow of the viewer goes)")
    parser.add_argument("--private", type=float, default=0.1,
                        help="share of regular users whose account is private (their posts'"
                             " media URLs signed)")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the graph")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.feed_read",
                                     description=__doc__.splitlines()[0])
    add_seed_arguments(parser, users=20_000, follows=200, celebrities=5, posts=200_000,
                       celebrity_posts=150, viewers=2_000)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per endpoint and mode")
    parser.add_argument("--concurrency", type=int, default=32, help="connections")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="seed into this new directory and keep it (default: a temp dir)")
    add_cluster_argument(parser)
    args = parser.parse_args(argv)
    if args.follows >= args.users or args.celebrities > args.follows or args.viewers < 2:
        parser.error("need --follows < --users, --celebrities <= --follows, --viewers >= 2")

    catch_signals()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-feed-read-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        if data_dir.exists() and any(data_dir.iterdir()):
            raise SystemExit(f"{data_dir} is not empty")
        graph = seed(data_dir, args)
        with redis_target(args.cluster) as target, \
                ServerProcess(data_dir, env=target.server_env) as proc:
            result = measure(proc, target, graph, args, Path(tmp))
    result = {
        "benchmark": "feed_read",
        **result,
        "seed": {"users": args.users, "follows": graph.follows, "posts": len(graph.posts),
                 "celebrities": len(graph.celebrities),
                 "celebrity_followers": args.users - 1,
                 "celebrity_posts": args.celebrity_posts * len(graph.celebrities),
                 "seconds": graph.seconds, "db_mb": graph.db_mb},
        "config": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": machine_info(),
        "wall_s": round(time.monotonic() - started, 1),
    }
    emit("feed_read", result)


if __name__ == "__main__":
    main()
