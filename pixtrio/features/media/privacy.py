"""Whether the media origin must ask for a signed URL: a post's media is private while its
author's account is. Remembered in this process, so serving media costs no store round
trip per request: a post's author for good (it never changes), an account's privacy for
`ttl_s` seconds, which bounds how long a switch to private or public takes to show at the
origin (in every process)."""

from __future__ import annotations

import time
from typing import TypeVar

from pixtrio.storage.metadata import MetadataStore

K = TypeVar("K")
V = TypeVar("V")

REMEMBERED = 20_000
"""Posts (and accounts) remembered; the oldest are forgotten past it."""


class MediaPrivacy:
    def __init__(self, store: MetadataStore, *, ttl_s: float) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._authors: dict[int, int] = {}
        self._private: dict[int, tuple[bool, float]] = {}
        """Account id → (is private, when it was read, `time.monotonic`)."""

    async def post_private(self, post_id: int) -> bool | None:
        """Whether the post's media is private; None if the post or its author does not
        exist. At most two store reads (post, author) when not remembered."""
        author_id = self._authors.get(post_id)
        if author_id is None:
            post = await self._store.get_post(post_id)
            if post is None:
                return None
            author_id = _remember(self._authors, post_id, post.author_id)
        now = time.monotonic()
        known = self._private.get(author_id)
        if known is not None and now - known[1] < self._ttl_s:
            return known[0]
        author = await self._store.get_user(author_id)
        if author is None:
            return None
        return _remember(self._private, author_id, (author.is_private, now))[0]


def _remember(memory: dict[K, V], key: K, value: V) -> V:
    memory.pop(key, None)
    memory[key] = value
    if len(memory) > REMEMBERED:
        del memory[next(iter(memory))]
    return value
