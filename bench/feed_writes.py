"""Feed writes: fan-out of one post to 10,000 followers, and a 10,000-user like storm.

    .venv/bin/python -m bench.feed_writes [--followers 10000] [--likers 10000] [--runs 3]
                                          [--prefill 200]

In process, on the server's own services over a real Valkey and SQLite (no HTTP: these
measure the write paths, not request handling):

1. Seeds an author with `--followers` followers straight into SQLite (bulk insert).
2. Fan-out: every follower's timeline is first built holding `--prefill` older posts
   (as an active user's would be), then a ready post and the fan-out job the server
   would run, checked by reading every timeline back. Reports the milliseconds until
   every timeline holds the post (the job's last timeline write returned; goal: <= 250 ms
   for 10,000 followers), timeline inserts per second, and the whole job's time, which
   then also tells the followers' live sessions.
3. Like storm: `--likers` distinct users like one post at once through `LikeService`
   (durable like + sharded counter each), then one flush. Reports likes per second,
   errors (goal 0) and whether the stored and counted totals are exact.
Never asserts timings.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import trio

from bench.harness import catch_signals, emit, machine_info
from pixtrio.features.feed.service import FeedService
from pixtrio.features.ids import IdGenerator
from pixtrio.features.likes.service import LikeService
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.notify import Notifier
from pixtrio.features.posts.reader import PostReader
from pixtrio.features.posts.service import PostService
from pixtrio.storage.blobs.filesystem import FilesystemBlobStore
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.client import open_redis
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.redis.feed_reads import FeedReads
from pixtrio.storage.redis.jobs import Job, JobQueue
from pixtrio.storage.redis.lean import open_lean_redis
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.mirrored_sets import following_sets, liked_sets
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.redis.timelines import (
    SCORE_SHIFT,
    SENTINEL,
    SENTINEL_SCORE,
    Timelines,
    member,
)
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import Post, User
from pixtrio.testing.valkey import valkey_server

GOALS = {"fanout_ms": 250.0, "like_errors": 0}

PREFILL = """
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], ARGV[2])
  for i = 1, tonumber(ARGV[3]) do
    redis.call('ZADD', key, i, string.format('%020d', i * tonumber(ARGV[4])))  -- score(id) = i
  end
end
"""


class TimedTimelines(Timelines):
    """Notes when each push returns: after the job's last one, every timeline holds the post."""

    last_push_returned = 0.0

    async def push(self, keys_: Sequence[str], post_ids: Sequence[int], *, cap: int) -> None:
        await super().push(keys_, post_ids, cap=cap)
        self.last_push_returned = time.perf_counter()


def seed(path: Path, ids: IdGenerator, followers: int) -> tuple[int, list[int]]:
    """An author and `followers` users following them, inserted in one transaction."""
    now = int(time.time() * 1000)
    author = ids.next_id()
    fans = [ids.next_id() for _ in range(followers)]
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO users (user_id, username, email, password_hash, created_at)"
            " VALUES (?, ?, ?, 'x', ?)",
            [(u, f"u{u}", f"u{u}@bench", now) for u in [author, *fans]])
        conn.executemany("INSERT INTO follows (follower_id, followee_id, edge_id) VALUES (?, ?, ?)",
                         [(f, author, ids.next_id()) for f in fans])
        conn.execute("UPDATE users SET followers_count = ? WHERE user_id = ?", (followers, author))
        conn.execute("UPDATE users SET following_count = 1 WHERE user_id != ?", (author,))
    conn.close()
    return author, fans


async def settle(redis: Any) -> None:
    """Wait out the AOF rewrite the seeding may have started: its fork makes the next
    writes pay copy-on-write page faults, which is not the fan-out's cost."""
    while True:
        info = await redis.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        await trio.sleep(0.2)


async def measure(followers: int, likers: int, runs: int, prefill: int,
                  tmp: Path) -> dict[str, Any]:
    store = await SqliteStore.open(tmp / "meta.db")
    ids = IdGenerator(3)
    author, fans = seed(tmp / "meta.db", ids, max(followers, likers))
    fans_for_fanout = fans[:followers]
    result: dict[str, Any] = {}
    async with valkey_server(tmp / "redis") as address, open_redis(address) as redis, \
            open_lean_redis(address) as lean:
        media_keys = MediaKeys(b"b" * 32)
        cache = PostCache(redis, ttl_s=600)
        counters = LikeCounters(redis)
        liked = liked_sets(redis, ttl_s=3600)
        fanout_queue = JobQueue(redis, "fanout")
        notifier = Notifier(EventStreams(redis, lean, keep_s=300, maxlen=1000))
        timelines = TimedTimelines(redis, lean, ttl_s=3600)
        feed = FeedService(store, timelines,
                           PostReader(store, cache, counters, media_keys), fanout_queue, notifier,
                           FeedReads(lean, ttl_s=3600, token_ttl_s=600),
                           AuthorCards(redis, ttl_s=600),
                           following_sets(redis, ttl_s=3600), liked,
                           celebrity_threshold=max(followers, likers) + 1)
        posts = PostService(store, FilesystemBlobStore(tmp / "blobs"), JobQueue(redis, "m"),
                            JobQueue(redis, "v"), media_keys, feed, cache, counters)
        likes = LikeService(store, counters, liked, posts, notifier)

        async def ready_post() -> int:
            post = Post(post_id=ids.next_id(), author_id=author, kind="photo", status="ready",
                        created_at=datetime.now(UTC))
            await store.create_post(post)
            return post.post_id

        fill = redis.register_script(PREFILL)
        for first in range(0, followers, 1000):
            await fill(keys=[keys.timeline(f) for f in fans_for_fanout[first:first + 1000]],
                       args=[SENTINEL_SCORE, SENTINEL, prefill, 1 << SCORE_SHIFT])
        await settle(redis)
        fanout_ms, job_ms = [], []
        for _ in range(runs):
            post_id = await ready_post()
            start = time.perf_counter()
            await feed.handle(Job("0-0", f"insert:{post_id}", {}))
            job_ms.append((time.perf_counter() - start) * 1000)
            fanout_ms.append((timelines.last_push_returned - start) * 1000)
            async with redis.pipeline(transaction=False) as pipe:
                scores = [pipe.zscore(keys.timeline(f), member(post_id)) for f in fans_for_fanout]
            missing = [s for s in scores if await s is None]
            assert not missing, f"{len(missing)} timelines lack the post"
        median = statistics.median(fanout_ms)
        result["fanout"] = {
            "followers": followers, "timeline_prefill": prefill, "runs_ms": [round(m, 1) for m in fanout_ms],
            "median_ms": round(median, 1),
            "timeline_inserts_per_s": round(followers / (median / 1000)),
            "job_runs_ms": [round(m, 1) for m in job_ms],
            "job_median_ms": round(statistics.median(job_ms), 1),
        }

        post_id = await ready_post()
        errors = 0

        async def like(user_id: int) -> None:
            nonlocal errors
            try:
                await likes.like(User(user_id, "", "", "", "", "", None, 0, 0, 0,
                                      datetime.now(UTC)), post_id)
            except Exception:
                errors += 1

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for fan in fans[:likers]:
                nursery.start_soon(like, fan)
        storm_s = time.perf_counter() - start
        await likes.flush()
        stored = (await store.get_post(post_id)).like_count  # type: ignore[union-attr]
        counted = (await counters.totals([post_id])).get(post_id)
        result["like_storm"] = {
            "likers": likers, "wall_s": round(storm_s, 2),
            "likes_per_s": round(likers / storm_s), "errors": errors,
            "stored_like_count": stored, "counter_total": counted,
            "exact": stored == counted == likers - errors,
        }
    await store.aclose()
    achieved = {"fanout_ms": result["fanout"]["median_ms"],
                "like_errors": result["like_storm"]["errors"]}
    result.update(goals=GOALS, achieved=achieved,
                  met={k: v <= GOALS[k] for k, v in achieved.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--likers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prefill", type=int, default=200,
                        help="older posts in each follower's timeline before the fan-out")
    args = parser.parse_args()
    catch_signals()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-feed-") as tmp:
        result = trio.run(measure, args.followers, args.likers, args.runs, args.prefill, Path(tmp))
    result["machine"] = machine_info()
    result["config"] = vars(args)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    emit("feed_writes", result)


if __name__ == "__main__":
    main()
