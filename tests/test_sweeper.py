"""Posts left `processing` without a job get their job queued again, once per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from server.sweeper import StuckPostSweeper
from storage.redis.jobs import JobQueue
from storage.sqlite import SqliteStore
from storage.types import Post
from tests.support.valkey import valkey_client


def post(post_id: int, kind: str, status: str, age_s: float) -> Post:
    return Post(post_id=post_id, author_id=1, kind=kind, status=status,  # type: ignore[arg-type]
                created_at=datetime.now(UTC) - timedelta(seconds=age_s))


async def test_stuck_posts_get_their_jobs_again_once_per_period(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "meta.db")
    try:
        for made in (post(11, "photo", "processing", 7200), post(12, "video", "processing", 5000),
                     post(13, "photo", "processing", 60), post(14, "photo", "ready", 9000),
                     post(15, "photo", "failed", 9000)):
            await store.create_post(made)
        async with valkey_client(tmp_path / "redis") as redis:
            photos, videos = JobQueue(redis, "media"), JobQueue(redis, "video")
            for queue in (photos, videos):
                await queue.ensure_group()  # as the job runners do at start
            sweeper = StuckPostSweeper(store, redis, {"photo": photos, "video": videos},
                                       stuck_after=3600)
            assert await sweeper.sweep() == 2
            photo_job = await photos.take("test", block_ms=100)
            video_job = await videos.take("test", block_ms=100)
            assert photo_job is not None and photo_job.key == "11"
            assert video_job is not None and video_job.key == "12"
            assert await photos.take("test", block_ms=100) is None  # not the young one
            assert await sweeper.sweep() == 0  # their jobs get their chance first
    finally:
        await store.aclose()
