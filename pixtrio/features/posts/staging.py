"""Streaming a request body to a local file, bounded, hashed and sniffed on the way."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import trio

from pixtrio.codecs.sniff import SNIFF_BYTES, sniff
from pixtrio.features.errors import TooLarge


@dataclass(frozen=True)
class Staged:
    received: int
    sha256: str
    sniffed_type: str | None  # the image or video type its magic bytes say, or None


async def stage_body(chunks: AsyncIterator[bytes], path: Path, *, max_bytes: int) -> Staged:
    """Write the body to `path` and fsync it; only one chunk is in memory at a time.

    Raises `TooLarge` as soon as more than `max_bytes` arrive (the partial file is left for the
    caller to remove).
    """
    digest = hashlib.sha256()
    received = 0
    head = b""
    with open(path, "wb") as f:  # noqa: ASYNC230 - the writes go to threads below
        async for chunk in chunks:
            received += len(chunk)
            if received > max_bytes:
                raise TooLarge(f"the body is longer than {max_bytes} bytes")
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]

            def write(data: bytes = chunk) -> None:
                f.write(data)
                digest.update(data)

            await trio.to_thread.run_sync(write)

        def sync() -> None:
            f.flush()
            os.fsync(f.fileno())

        await trio.to_thread.run_sync(sync)
    return Staged(received, digest.hexdigest(), sniff(head))
