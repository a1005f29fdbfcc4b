"""Feed writes: fan-out of one post to 10,000 followers, and a 10,000-user like storm.

    .venv/bin/python -m bench.feed_writes [--followers 10000] [--likers 10000] [--runs 5]
                                          [--prefill 800]

In process, on the server's own services over a real Valkey and SQLite (no HTTP: these
measure the write paths, not request handling):

1. Seeds an author with `--followers` followers straight into SQLite (bulk insert).
2. Fan-out: every follower's timeline is first built holding `--prefill` older posts
   (as an active user's would be), then a ready post and the fan-out job the server
   would run, checked by reading every timeline back. Reports the milliseconds until
   every timeline holds the post (the job's last timeline write returned), timeline
   inserts per second, where the job spent them (`before_push`: the post, the author,
   the follower query; `push`: the timeline writes), and the whole job's time, which
   then also tells the followers' live sessions.
   Alternating with each fan-out, the Valkey floor: the same ZADD + trim
   (ZREMRANGEBYRANK to the timeline cap) of another post into the same timelines, all
   20,000 commands in one pipeline per node over the lean client (RESP written before the
   clock starts, answers parsed by hiredis: no Lua, no job, no coredis), as the fan-out
   sends its own. Goal: fan-out / floor <= 1.4 (the
   median of the per-run ratios; the spread is reported). One untimed floor push first
   takes the slow first write after seeding.
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
from bench.redis_target import RedisTarget, add_cluster_argument, redis_target
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.feed.service import FeedService
from pixtrio.features.ids import IdGenerator
from pixtrio.features.likes.service import LikeService
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.signing import MediaSigner
from pixtrio.features.notify import Notifier
from pixtrio.features.posts.reader import PostReader
from pixtrio.features.posts.service import PostService
from pixtrio.storage.blobs.filesystem import FilesystemBlobStore
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.redis.feed_reads import FeedReads
from pixtrio.storage.redis.jobs import Job, JobQueue
from pixtrio.storage.redis.lean import LeanRedis, pack, packed
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.mirrored_sets import (
    following_sets,
    liked_sets,
    private_set,
    suspended_set,
)
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.redis.timelines import (
    SCORE_SHIFT,
    SENTINEL,
    SENTINEL_SCORE,
    TIMELINE_CAP,
    Timelines,
    member,
    score,
)
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import Post, User
from pixtrio.testing.valkey_cluster import redis_clients

GOALS = {"fanout_vs_floor": 1.4, "like_errors": 0}

PREFILL = """
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[1], ARGV[2])
  for i = 1, tonumber(ARGV[3]) do
    redis.call('ZADD', key, i, string.format('%020d', i * tonumber(ARGV[4])))  -- score(id) = i
  end
end
"""


class TimedTimelines(Timelines):
    """Notes when each push starts and returns: after the job's last one, every timeline
    holds the post; the last one is the followers' push."""

    last_push_started = 0.0
    last_push_returned = 0.0

    async def push(self, keys_: Sequence[str], post_ids: Sequence[int], *, cap: int) -> None:
        self.last_push_started = time.perf_counter()
        await super().push(keys_, post_ids, cap=cap)
        self.last_push_returned = time.perf_counter()


async def floor_push(lean: LeanRedis, keys_: Sequence[str], post_id: int) -> float:
    """Milliseconds for a bare pipelined ZADD + ZREMRANGEBYRANK (to `TIMELINE_CAP`) of
    `post_id` into every set of `keys_` over the lean client (one pipeline per node, the
    nodes at once): the commands are written beforehand (Python takes ~70 ms for 20,000),
    then sent and every answer read."""
    at, mem = score(post_id), member(post_id)
    calls = [packed(resp, key) for key in keys_ for resp in (
        pack(["ZADD", key, at, mem]), pack(["ZREMRANGEBYRANK", key, 1, -(TIMELINE_CAP + 1)]))]
    start = time.perf_counter()
    await lean.execute(calls)
    return (time.perf_counter() - start) * 1000


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
                  tmp: Path, target: RedisTarget) -> dict[str, Any]:
    store = await SqliteStore.open(tmp / "meta.db")
    ids = IdGenerator(3)
    author, fans = seed(tmp / "meta.db", ids, max(followers, likers))
    fans_for_fanout = fans[:followers]
    result: dict[str, Any] = {}
    async with redis_clients(tmp / "redis", target.valkey_cluster) as (redis, lean):
        media_keys = MediaKeys(b"b" * 32)
        cache = PostCache(redis, ttl_s=600)
        counters = LikeCounters(redis)
        liked = liked_sets(redis, ttl_s=3600)
        fanout_queue = JobQueue(redis, "fanout")
        notifier = Notifier(EventStreams(lean, keep_s=300, maxlen=1000))
        timelines = TimedTimelines(redis, lean, ttl_s=3600)
        reader = PostReader(store, cache, counters, media_keys, MediaSigner(b"b" * 32, ttl_s=14400))
        following = following_sets(redis, ttl_s=3600)
        feed = FeedService(store, timelines, reader,
                           FeedReads(lean, ttl_s=3600, token_ttl_s=600),
                           AuthorCards(redis, ttl_s=600), following, liked,
                           suspended_set(redis, ttl_s=3600), private_set(redis, ttl_s=3600))
        fanout = FanOut(store, timelines, feed, reader, fanout_queue, notifier, following,
                        celebrity_threshold=max(followers, likers) + 1)
        posts = PostService(store, FilesystemBlobStore(tmp / "blobs"), JobQueue(redis, "m"),
                            JobQueue(redis, "v"), media_keys, fanout, cache, counters)
        likes = LikeService(store, counters, liked, posts, notifier)

        async def ready_post() -> int:
            post = Post(post_id=ids.next_id(), author_id=author, kind="photo", status="ready",
                        created_at=datetime.now(UTC))
            await store.create_post(post)
            return post.post_id

        fill = redis.register_script(PREFILL)
        batch = 1 if target.cluster else 1000  # a script's keys share one slot on a cluster
        for first in range(0, followers, batch):
            await fill(keys=[keys.timeline(f) for f in fans_for_fanout[first:first + batch]],
                       args=[SENTINEL_SCORE, SENTINEL, prefill, 1 << SCORE_SHIFT])
        await settle(redis)
        timeline_keys = [keys.timeline(f) for f in fans_for_fanout]
        first_ms = await floor_push(lean, timeline_keys, ids.next_id())
        fanout_ms, job_ms, floor_ms, before_push_ms, push_ms = [], [], [], [], []
        for _ in range(runs):
            floor_ms.append(await floor_push(lean, timeline_keys, ids.next_id()))
            post_id = await ready_post()
            start = time.perf_counter()
            await fanout.handle(Job("0-0", f"insert:{post_id}", {}))
            job_ms.append((time.perf_counter() - start) * 1000)
            fanout_ms.append((timelines.last_push_returned - start) * 1000)
            before_push_ms.append((timelines.last_push_started - start) * 1000)
            push_ms.append((timelines.last_push_returned - timelines.last_push_started) * 1000)
            async with redis.pipeline(transaction=False) as pipe:
                scores = [pipe.zscore(key, member(post_id)) for key in timeline_keys]
            missing = [s for s in scores if await s is None]
            assert not missing, f"{len(missing)} timelines lack the post"
        median = statistics.median(fanout_ms)
        ratios = [f / b for f, b in zip(fanout_ms, floor_ms, strict=True)]

        def ms(values: list[float]) -> list[float]:
            return [round(v, 1) for v in values]

        result["fanout"] = {
            "followers": followers, "timeline_prefill": prefill, "runs_ms": ms(fanout_ms),
            "median_ms": round(median, 1),
            "timeline_inserts_per_s": round(followers / (median / 1000)),
            "before_push_runs_ms": ms(before_push_ms), "push_runs_ms": ms(push_ms),
            "job_runs_ms": ms(job_ms),
            "job_median_ms": round(statistics.median(job_ms), 1),
            "floor_runs_ms": ms(floor_ms),
            "floor_median_ms": round(statistics.median(floor_ms), 1),
            "floor_first_push_ms": round(first_ms, 1),
            "vs_floor_runs": [round(r, 2) for r in ratios],
            "vs_floor": {"min": round(min(ratios), 2),
                         "median": round(statistics.median(ratios), 2),
                         "max": round(max(ratios), 2)},
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
    achieved = {"fanout_vs_floor": result["fanout"]["vs_floor"]["median"],
                "like_errors": result["like_storm"]["errors"]}
    result.update(goals=GOALS, achieved=achieved,
                  met={k: v <= GOALS[k] for k, v in achieved.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=10_000)
    parser.add_argument("--likers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prefill", type=int, default=TIMELINE_CAP,
                        help="older posts in each follower's timeline before the fan-out"
                             " (default: full)")
    add_cluster_argument(parser)
    args = parser.parse_args()
    catch_signals()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-feed-") as tmp, \
            redis_target(args.cluster) as target:
        result = trio.run(measure, args.followers, args.likers, args.runs, args.prefill, Path(tmp),
                          target)
    result["redis"] = target.describe()
    result["machine"] = machine_info()
    result["config"] = vars(args)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    emit("feed_writes", result)


if __name__ == "__main__":
    main()
