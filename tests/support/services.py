"""The server's feed, post, social and like services built in-process on a real SQLite
store and a real Valkey (or cluster), for tests that drive them without HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import coredis

from pixtrio.features.comments.service import CommentService
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.feed.service import FeedService
from pixtrio.features.graph.service import GraphService
from pixtrio.features.ids import IdGenerator
from pixtrio.features.likes.service import LikeService
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.signing import MediaSigner
from pixtrio.features.notify import Notifier
from pixtrio.features.posts.reader import PostReader
from pixtrio.features.posts.service import PostService
from pixtrio.storage.blobs.filesystem import FilesystemBlobStore
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.redis.feed_reads import FeedReads
from pixtrio.storage.redis.jobs import JobQueue
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.mirrored_sets import (
    following_sets,
    liked_sets,
    private_set,
    suspended_set,
)
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.redis.timelines import Timelines
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.testing.valkey_cluster import ValkeyCluster, redis_clients

SIGNER = MediaSigner(b"k" * 32, ttl_s=14400)
"""Signs the media URLs of private accounts' posts in these services."""


@dataclass
class InProcess:
    store: SqliteStore
    redis: coredis.Redis[str]
    ids: IdGenerator
    reader: PostReader
    counters: LikeCounters
    feed: FeedService
    fanout: FanOut
    fanout_jobs: JobQueue
    posts: PostService
    likes: LikeService
    comments: CommentService
    graph: GraphService

    async def drain(self) -> None:
        """Run every queued fan-out job, as the server's fan-out loop would."""
        await self.fanout_jobs.ensure_group()
        while (job := await self.fanout_jobs.take("test", block_ms=1)) is not None:
            await self.fanout.handle(job)
            await self.fanout_jobs.finish(job)


@asynccontextmanager
async def in_process(tmp: Path, cluster: ValkeyCluster | None = None, *,
                     celebrity_threshold: int) -> AsyncIterator[InProcess]:
    """The services on a store and a Valkey (or `cluster`) kept in `tmp`; closed on exit."""
    store = await SqliteStore.open(tmp / "meta.db")
    async with redis_clients(tmp / "redis", cluster) as (redis, lean):
        keys = MediaKeys(b"k" * 32)
        cache = PostCache(redis, ttl_s=600)
        counters = LikeCounters(redis)
        liked = liked_sets(redis, ttl_s=3600)
        reader = PostReader(store, cache, counters, keys, SIGNER)
        jobs = JobQueue(redis, "fanout")
        notifier = Notifier(EventStreams(lean, keep_s=300, maxlen=100))
        timelines = Timelines(redis, lean, ttl_s=3600)
        following = following_sets(redis, ttl_s=3600)
        private = private_set(redis, ttl_s=3600)
        feed = FeedService(store, timelines, reader,
                           FeedReads(lean, ttl_s=3600, token_ttl_s=600),
                           AuthorCards(redis, ttl_s=600), following, liked,
                           suspended_set(redis, ttl_s=3600), private)
        fanout = FanOut(store, timelines, feed, reader, jobs, notifier, following,
                        celebrity_threshold=celebrity_threshold)
        posts = PostService(store, FilesystemBlobStore(tmp / "blobs"), JobQueue(redis, "m"),
                            JobQueue(redis, "v"), keys, fanout, cache, counters)
        ids = IdGenerator(7)
        yield InProcess(store, redis, ids, reader, counters, feed, fanout, jobs, posts,
                        LikeService(store, counters, liked, posts, notifier),
                        CommentService(store, ids, posts, cache, notifier),
                        GraphService(store, ids, fanout, notifier, private))
    await store.aclose()
