"""Turning an uploaded video into a ready post: the video job, on a queue of its own."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trio

from pixtrio.actors.ffmpeg import FfmpegFailed, run_ffmpeg
from pixtrio.actors.worker_pool import WorkerPool
from pixtrio.codecs.pdq import PdqHashes
from pixtrio.codecs.photos import MediaRejected, process_photo
from pixtrio.codecs.probe import VideoInfo, probe_video
from pixtrio.codecs.transcode import (
    encode_command,
    hls_command,
    ladder,
    poster_command,
    progressive,
)
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.photo_job import mark_ready, media_fields
from pixtrio.features.media.renditions import content_type, scratch_dir, store_renditions
from pixtrio.features.safety.hash_blocklist import HashBlocklist
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.jobs import Job

log = logging.getLogger("pixtrio.media")


@dataclass(frozen=True)
class VideoSettings:
    ffmpeg: str
    preset: str
    max_seconds: float
    cpu_limit: float
    """CPU seconds one FFmpeg run may use; past it the post fails (a hostile or hung input)."""
    time_limit: float
    """Wall seconds one attempt may take; past it the job is retried (the machine was busy)."""
    memory_limit: int
    """Address-space limit of each FFmpeg process."""


class VideoJobs:
    """The `JobHandler` for video posts: idempotent, keyed by post id.

    Probing and the poster's photo pipeline use the media worker pool; FFmpeg runs as a
    niced child process, one at a time per job loop.
    """

    def __init__(self, store: MetadataStore, blobs: BlobStore, pool: WorkerPool,
                 media_keys: MediaKeys, settings: VideoSettings, fanout: FanOut,
                 blocklist: HashBlocklist) -> None:
        self._blocklist = blocklist
        self._fanout = fanout
        self._store = store
        self._blobs = blobs
        self._pool = pool
        self._keys = media_keys
        self._settings = settings

    async def handle(self, job: Job) -> None:
        """Make the renditions and poster and mark the post ready, or failed with a reason
        when the video is unusable, FFmpeg needs more than its CPU budget, or the poster
        frame is on the hash blocklist (nothing of it is then stored or published).

        Raises on transient failures (worker crash, FFmpeg killed by a signal, the attempt
        outliving its wall-time limit, store errors) so the job is retried. Cancellation
        kills any FFmpeg still running.
        """
        post_id = int(job.key)
        post = await self._store.get_post(post_id)
        if post is None or post.status != "processing":
            return
        original_key = self._keys.original(post_id)
        head = await self._blobs.head(original_key)
        if head is None:
            await self._fail(post_id, "the upload is gone")
            return
        async with scratch_dir(self._blobs, f"video-{post_id}-") as workdir:
            async with self._blobs.local_copy(original_key) as original:
                with trio.fail_after(self._settings.time_limit):
                    try:
                        media, poster = await make_renditions(
                            self._pool, self._settings, original, head.content_type, workdir)
                    except MediaRejected as exc:
                        await self._fail(post_id, exc.reason)
                        return
                    except FfmpegFailed as exc:
                        if exc.killed:
                            raise
                        await self._fail(post_id, f"the video could not be converted: {exc.reason}")
                        return
            if await self._blocklist.screen_post(post, poster):
                return
            media = await self._store_files(post_id, workdir, media)
        if await mark_ready(self._store, self._blobs, self._keys, self._fanout, post_id, media):
            log.info("video post %d ready", post_id)

    async def give_up(self, job: Job, reason: str) -> None:
        await self._fail(int(job.key), reason)

    async def _fail(self, post_id: int, reason: str) -> None:
        await self._store.set_post_status(post_id, "failed", failure_reason=reason)

    async def _store_files(self, post_id: int, workdir: Path, media: dict[str, Any]) -> dict[str, Any]:
        """Move the poster variants, the HLS tree and the progressive MP4 into the blob
        store; `media` with blob keys in place of scratch paths."""
        def key(name: str) -> str:
            return self._keys.post_file(post_id, name)

        variants = await store_renditions(self._blobs, workdir, media["variants"], key)
        hls_files = await trio.to_thread.run_sync(
            lambda: sorted(p for p in (workdir / "hls").rglob("*") if p.is_file()))
        for path in hls_files:  # segments first, playlists last: a playlist never dangles
            if path.suffix != ".m3u8":
                await self._put(path, key(path.relative_to(workdir).as_posix()))
        for path in hls_files:
            if path.suffix == ".m3u8":
                await self._put(path, key(path.relative_to(workdir).as_posix()))
        mp4 = key("video.mp4")
        await self._put(workdir / media["mp4"], mp4)
        return {**media, "variants": variants, "hls": key(media["hls"]), "mp4": mp4}

    async def _put(self, path: Path, key: str) -> None:
        await self._blobs.put_file(key, path, content_type=content_type(path.name))


async def make_renditions(pool: WorkerPool, s: VideoSettings, original: Path, mime: str,
                          workdir: Path) -> tuple[dict[str, Any], PdqHashes]:
    """Probe, encode, segment and make the poster of the video `original` (of sniffed type
    `mime`) inside `workdir`: the post's media fields, with paths relative to `workdir`
    where blob keys will go, and the poster's PDQ hashes. Raises MediaRejected or FfmpegFailed; cancellation kills the
    FFmpeg or worker process running at the time."""
    info = await pool.run(_probe, str(original), mime, s.max_seconds)
    rungs = ladder(info)
    encoded, hls = workdir / "encoded", workdir / "hls"
    await trio.Path(encoded).mkdir()
    await trio.Path(hls).mkdir()
    await run_ffmpeg(encode_command(s.ffmpeg, original, mime, info, rungs, encoded,
                                    preset=s.preset),
                     memory_limit=s.memory_limit, cpu_limit=s.cpu_limit)
    await run_ffmpeg(hls_command(s.ffmpeg, rungs, encoded, hls, has_audio=info.has_audio),
                     memory_limit=s.memory_limit, cpu_limit=s.cpu_limit)
    await run_ffmpeg(poster_command(s.ffmpeg, original, mime, info, workdir / "poster.png"),
                     memory_limit=s.memory_limit, cpu_limit=s.cpu_limit)
    poster = await pool.run(process_photo, str(workdir / "poster.png"), str(workdir))
    return {
        **media_fields(poster, poster.variants),
        "hls": "hls/master.m3u8",
        "mp4": f"encoded/{progressive(rungs).name}.mp4",
        "duration_s": round(info.duration_s, 3),
    }, poster.pdq


def _probe(source: str, mime: str, max_seconds: float) -> VideoInfo:
    """`probe_video` with a keyword argument, callable through the worker pool."""
    return probe_video(source, mime, max_seconds=max_seconds)
