"""Posts left `processing` without a job get one again; a post whose job is live does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pixtrio.actors.sweeper import StuckPostSweeper
from pixtrio.storage.redis.jobs import JobQueue
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import Post
from pixtrio.testing.valkey import valkey_client


def post(post_id: int, kind: str, status: str, age_s: float) -> Post:
    return Post(post_id=post_id, author_id=1, kind=kind, status=status,  # type: ignore[arg-type]
                created_at=datetime.now(UTC) - timedelta(seconds=age_s))


async def test_only_stuck_posts_without_a_live_job_get_one(tmp_path: Path) -> None:
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
            # 12's job was queued when it was published and a worker is still transcoding
            # it; 11's publish died before its job was queued
            await videos.add("12", kind="video")
            running = await videos.take("worker", block_ms=100)
            assert running is not None and running.key == "12"
            sweeper = StuckPostSweeper(store, {"photo": photos, "video": videos}, stuck_after=300)
            assert await sweeper.sweep() == 1
            assert await sweeper.sweep() == 0, "a job waiting in its queue is not queued twice"
            photo_job = await photos.take("worker", block_ms=100)
            assert photo_job is not None and photo_job.key == "11"
            assert await photos.take("worker", block_ms=100) is None  # not the young one
            assert await videos.take("worker", block_ms=100) is None  # nor a second video job
            assert await sweeper.sweep() == 0, "a taken, unfinished job is left to finish"

            await redis.flushall()  # Redis lost its data, and the jobs with it
            for queue in (photos, videos):
                await queue.ensure_group()
            assert await sweeper.sweep() == 2
            lost_photo = await photos.take("worker", block_ms=100)
            lost_video = await videos.take("worker", block_ms=100)
            assert lost_photo is not None and lost_photo.key == "11"
            assert lost_video is not None and lost_video.key == "12"
    finally:
        await store.aclose()
