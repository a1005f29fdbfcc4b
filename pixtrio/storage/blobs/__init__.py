"""The blob store contract: immutable media objects by server-made key, with a filesystem
adapter (the default) and room for S3 without touching callers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

KEY = re.compile(r"[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_.-]*)*")


def check_key(key: str) -> str:
    """`key` if it is a well-formed blob key (lowercase path segments, no '..'), else ValueError."""
    if not KEY.fullmatch(key) or ".." in key or key.endswith(".meta.json") or len(key) > 300:
        raise ValueError(f"not a blob key: {key!r}")
    return key


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    content_type: str
    etag: str  # a strong validator, quoted: '"<sha256 hex>"'
    metadata: Mapping[str, str] = field(default_factory=dict)


class BlobStore(Protocol):
    name: str

    def staging_dir(self) -> Path:
        """A local directory for temporary files that `put_file` can take over cheaply."""
        ...

    async def put_file(
        self, key: str, path: Path, *, content_type: str, metadata: Mapping[str, str] | None = None
    ) -> BlobInfo:
        """Store the file at `path` under `key`, durably, replacing what was there.

        Takes ownership of `path` (it is moved or removed). Returns once the blob and its
        metadata would survive a crash; on cancellation the store finishes first.
        """
        ...

    async def head(self, key: str) -> BlobInfo | None:
        """What is stored under `key`, or None."""
        ...

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes of `key` from `start` up to (not including) `end`, in chunks."""
        ...

    def local_copy(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A local file holding the blob for the duration of the block (read-only)."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every blob whose key starts with `prefix` + "/" (or equals it); the count."""
        ...

    async def ping(self) -> None:
        """Return once the store answers; raise `StorageError` if it does not."""
        ...
