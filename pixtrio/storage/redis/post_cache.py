"""A cache of posts' metadata in Redis, in front of the metadata store.

Every change to a post bumps its generation and replaces or drops the entry; a fill
carries the generation it read before going to the store and is dropped if that moved, so
a reader can never put back a version older than a change (or a deleted post). Deleted
posts leave a tombstone for as long as entries live.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import coredis
import orjson

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors
from pixtrio.storage.redis.guarded_cache import Fill, GuardedCache
from pixtrio.storage.types import Post, ms_from_utc, utc_from_ms

TOMBSTONE = "deleted"
TOMBSTONE_BYTES = TOMBSTONE.encode()

def _encode(post: Post) -> str:
    """The entry of `post`. It starts `{"post_id":…,"author_id":…`: the feed's page script
    reads the author there."""
    return orjson.dumps({
        "post_id": post.post_id, "author_id": post.author_id, "kind": post.kind,
        "status": post.status, "created_at": ms_from_utc(post.created_at),
        "caption": post.caption, "location": post.location, "alt_text": post.alt_text,
        "hashtags": list(post.hashtags), "media": post.media,
        "failure_reason": post.failure_reason, "like_count": post.like_count,
        "comment_count": post.comment_count,
    }).decode()


DECODED_KEEP = 4096
"""Entries whose decoded post is kept in process: with its view (`PostReader`) about
6.5 KiB each, so at most ~26 MiB."""


@functools.lru_cache(maxsize=DECODED_KEEP)
def _decode(text: str | bytes) -> Post:
    """The post of a cache entry. Kept by the entry's text: an entry read again unchanged
    gives the very same (frozen) `Post`, so readers may key work done on it by identity."""
    fields: dict[str, Any] = orjson.loads(text)
    fields["created_at"] = utc_from_ms(fields["created_at"])
    fields["hashtags"] = tuple(fields["hashtags"])
    return Post(**fields)


class Lookup:
    """What the cache said about some posts: `found` ones, `gone` (tombstoned) ids, and
    the generations of the `missing` ones, for `PostCache.fill`."""

    def __init__(self) -> None:
        self.found: dict[int, Post] = {}
        self.gone: set[int] = set()
        self.missing: dict[int, str] = {}


class PostCache:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int) -> None:
        self._client = client
        self._guarded = GuardedCache(client, ttl_s=ttl_s, tombstone=TOMBSTONE)

    async def lookup(self, post_ids: Collection[int]) -> Lookup:
        """One MGET for the entries and generations of `post_ids`."""
        ids = list(post_ids)
        if not ids:
            return Lookup()
        names = [name for p in ids for name in (keys.post_cache(p), keys.post_generation(p))]
        with redis_errors():
            values = await self._client.mget(names)
        return self.parse(ids, values[0::2], values[1::2])

    @staticmethod
    def parse(post_ids: Sequence[int], entries: Sequence[str | bytes | None],
              generations: Sequence[str | None]) -> Lookup:
        """A `Lookup` from the entries and generations read for `post_ids`."""
        result = Lookup()
        for post_id, entry, generation in zip(post_ids, entries, generations, strict=True):
            if entry == TOMBSTONE or entry == TOMBSTONE_BYTES:
                result.gone.add(post_id)
            elif entry is not None:
                result.found[post_id] = _decode(entry)
            else:
                result.missing[post_id] = generation or ""
        return result

    async def fill(self, posts: Mapping[int, Post], generations: Mapping[int, str]) -> None:
        """Cache `posts` read from the store, each only if its generation is unchanged."""
        await self._guarded.fill([Fill(keys.post_cache(p), keys.post_generation(p), generations[p],
                               _encode(post)) for p, post in posts.items() if p in generations])

    async def changed(self, post_id: int, post: Post | None) -> None:
        """After a change in the store: bump the generation and store `post`, or a
        tombstone when it was deleted (None). A tombstone is never replaced: a change that
        raced the delete cannot bring the post back."""
        await self._guarded.changed(keys.post_cache(post_id), keys.post_generation(post_id),
                                    _encode(post) if post else TOMBSTONE)
