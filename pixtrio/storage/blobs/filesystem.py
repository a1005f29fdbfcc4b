"""Blobs as files under one directory: `<root>/<key>` with a `<key>.meta.json` sidecar.

Writes fsync the file, its sidecar and the directory before returning, so an acknowledged
blob survives a crash. Blocking file work runs in threads and is never abandoned.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import trio

from pixtrio.storage.blobs import BlobInfo, check_key
from pixtrio.storage.errors import StorageError

CHUNK = 256 * 1024
R = TypeVar("R")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FilesystemBlobStore:
    """`BlobStore` on a local directory (the embedded default)."""

    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._staging = self.root / ".staging"
        self._staging.mkdir(parents=True, exist_ok=True)
        self._limiter = trio.CapacityLimiter(8)

    def staging_dir(self) -> Path:
        return self._staging

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"not a blob key: {key!r}")
        return path

    async def _thread(self, fn: Callable[[], R]) -> R:
        try:
            return await trio.to_thread.run_sync(fn, limiter=self._limiter)
        except OSError as exc:
            raise StorageError(f"blob store: {exc}") from None

    async def put_file(
        self, key: str, path: Path, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> BlobInfo:
        target = self._path(key)

        def put() -> BlobInfo:
            target.parent.mkdir(parents=True, exist_ok=True)
            info = BlobInfo(key, path.stat().st_size, content_type,
                            f'"{_sha256_file(path)}"', dict(metadata or {}))
            sidecar = target.with_name(target.name + ".meta.json")
            tmp_sidecar = sidecar.with_name(sidecar.name + ".tmp")
            with tmp_sidecar.open("w") as f:
                json.dump({"size": info.size, "content_type": content_type, "etag": info.etag,
                           "metadata": info.metadata}, f)
                f.flush()
                os.fsync(f.fileno())
            with path.open("rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp_sidecar, sidecar)
            try:
                os.replace(path, target)
            except OSError:  # another filesystem: copy, then drop the source
                shutil.copyfile(path, target)
                with target.open("rb+") as f:
                    os.fsync(f.fileno())
                path.unlink()
            _fsync_dir(target.parent)
            return info

        return await self._thread(put)

    async def head(self, key: str) -> BlobInfo | None:
        target = self._path(key)

        def head() -> BlobInfo | None:
            try:
                meta = json.loads(target.with_name(target.name + ".meta.json").read_text())
                size = target.stat().st_size
            except FileNotFoundError:
                return None
            return BlobInfo(key, size, meta["content_type"], meta["etag"], meta["metadata"])

        return await self._thread(head)

    async def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        target = self._path(key)
        try:
            f = await trio.open_file(target, "rb")
        except OSError as exc:
            raise StorageError(f"blob store: {exc}") from None
        async with f:
            await f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                chunk = await f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    @asynccontextmanager
    async def local_copy(self, key: str) -> AsyncIterator[Path]:
        target = self._path(key)
        if not await trio.Path(target).exists():
            raise StorageError(f"blob store: no blob {key!r}")
        yield target

    async def delete_prefix(self, prefix: str) -> int:
        target = self._path(prefix)

        def delete() -> int:
            if target.is_dir():
                count = sum(1 for p in _files(target) if not p.name.endswith(".meta.json"))
                shutil.rmtree(target)
                _fsync_dir(target.parent)
                return count
            removed = 0
            for path in (target, target.with_name(target.name + ".meta.json")):
                try:
                    path.unlink()
                    removed += not path.name.endswith(".meta.json")
                except FileNotFoundError:
                    pass
            return removed

        return await self._thread(delete)

    async def ping(self) -> None:
        await self._thread(lambda: os.statvfs(self.root))


def _files(root: Path) -> Iterator[Path]:
    for dirpath, _, names in os.walk(root):
        for name in names:
            yield Path(dirpath) / name
