"""Turning an uploaded original into a ready post: the photo job, run by the media nursery."""

from __future__ import annotations

import logging
from typing import Any

from pixtrio.actors.worker_pool import WorkerPool
from pixtrio.codecs.photos import MediaRejected, PhotoResult, process_photo
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.renditions import scratch_dir, store_renditions
from pixtrio.features.safety.hash_blocklist import HashBlocklist
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.jobs import Job

log = logging.getLogger("pixtrio.media")


class PhotoJobs:
    """The `JobHandler` for photo posts: idempotent, keyed by post id."""

    def __init__(
        self, store: MetadataStore, blobs: BlobStore, pool: WorkerPool, media_keys: MediaKeys,
        fanout: FanOut, blocklist: HashBlocklist,
    ) -> None:
        self._blocklist = blocklist
        self._store = store
        self._blobs = blobs
        self._pool = pool
        self._keys = media_keys
        self._fanout = fanout

    async def handle(self, job: Job) -> None:
        """Make the variants and mark the post ready (or failed, for an unusable image or
        one on the hash blocklist: nothing of it is then stored or published).

        A post that is gone or no longer processing is done already. Raises on transient
        failures (worker crash, timeout, store errors) so the job is retried.
        """
        post_id = int(job.key)
        post = await self._store.get_post(post_id)
        if post is None or post.status != "processing":
            return
        async with scratch_dir(self._blobs, f"post-{post_id}-") as workdir:
            async with self._blobs.local_copy(self._keys.original(post_id)) as original:
                try:
                    result = await self._pool.run(process_photo, str(original), str(workdir))
                except MediaRejected as exc:
                    await self._store.set_post_status(post_id, "failed", failure_reason=exc.reason)
                    return
            if await self._blocklist.screen_post(post, result.pdq):
                return
            variants = await store_renditions(
                self._blobs, workdir, result.variants, lambda name: self._keys.post_file(post_id, name)
            )
        if await mark_ready(self._store, self._blobs, self._keys, self._fanout, post_id,
                            media_fields(result, variants)):
            log.info("post %d ready", post_id)

    async def give_up(self, job: Job, reason: str) -> None:
        await self._store.set_post_status(int(job.key), "failed", failure_reason=reason)


async def mark_ready(store: MetadataStore, blobs: BlobStore, media_keys: MediaKeys,
                     fanout: FanOut, post_id: int, media: dict[str, Any]) -> bool:
    """Record a processed post's `media`, make it ready and queue its fan-out. False when
    the post was deleted meanwhile; the renditions just stored for it are then removed."""
    if await store.update_post(post_id, media=media) is None or \
            await store.set_post_status(post_id, "ready") is None:
        await blobs.delete_prefix(media_keys.post_root(post_id))
        return False
    await fanout.post_ready(post_id)
    return True


def media_fields(result: PhotoResult, variants: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What a ready post keeps about its media (`variants` maps size -> format -> key)."""
    camera = {"make": result.camera_make, "model": result.camera_model}
    return {
        "width": result.width,
        "height": result.height,
        "variants": variants,
        "placeholder": result.placeholder,
        "blurhash": result.blurhash,
        "taken_at": result.taken_at,
        "camera": camera if any(camera.values()) else None,
    }
