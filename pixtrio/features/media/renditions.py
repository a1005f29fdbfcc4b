"""Renditions made in a scratch directory and moved into the blob store."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from pixtrio.storage.blobs import BlobStore

CONTENT_TYPES = {
    "webp": "image/webp", "jpeg": "image/jpeg", "avif": "image/avif",
    "m3u8": "application/vnd.apple.mpegurl", "ts": "video/mp2t", "mp4": "video/mp4",
}


CLEANUP_SECONDS = 30.0
"""Seconds a scratch directory's removal may hold up its caller (shielded); past them the
removal goes on in its thread, unwaited."""


def content_type(name: str) -> str:
    return CONTENT_TYPES[name.rsplit(".", 1)[-1]]


@asynccontextmanager
async def scratch_dir(blobs: BlobStore, prefix: str) -> AsyncIterator[Path]:
    """A fresh directory in the blob store's staging area, removed on exit, also when
    cancelled (shielded, waited for at most `CLEANUP_SECONDS`)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=blobs.staging_dir()))
    try:
        yield path
    finally:
        with trio.move_on_after(CLEANUP_SECONDS, shield=True):
            await trio.to_thread.run_sync(shutil.rmtree, path, True, abandon_on_cancel=True)


async def store_renditions(
    blobs: BlobStore,
    workdir: Path,
    renditions: dict[str, dict[str, str]],
    key_for: Callable[[str], str],
) -> dict[str, dict[str, str]]:
    """Move each file of `renditions` (size -> format -> file name in `workdir`) into the
    blob store under `key_for(file name)`; the same map with keys instead of names."""
    keys: dict[str, dict[str, str]] = {}
    for size, files in renditions.items():
        for fmt, name in files.items():
            key = key_for(name)
            await blobs.put_file(key, workdir / name, content_type=content_type(name))
            keys.setdefault(size, {})[fmt] = key
    return keys
