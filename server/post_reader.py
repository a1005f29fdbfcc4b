"""Loading posts through the Redis post cache and shaping them for a viewer, batched:
the same few round trips for one post or a page of a hundred."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from storage.metadata import MetadataStore
from storage.redis.like_counters import LikeCounters
from storage.redis.post_cache import DECODED_KEEP, Lookup, PostCache
from storage.types import Post, User

from .media_keys import MediaKeys
from .views import author_view, post_fields, viewed_by

VIEWS_KEEP = DECODED_KEEP
"""Posts whose viewer-independent view is kept, reused while their cache entry is the same."""


class PostReader:
    def __init__(self, store: MetadataStore, cache: PostCache, counters: LikeCounters,
                 media_keys: MediaKeys) -> None:
        self._store = store
        self._cache = cache
        self._counters = counters
        self._keys = media_keys
        self._fields: dict[int, tuple[Post, dict[str, Any]]] = {}

    async def load(self, post_ids: Collection[int]) -> dict[int, Post]:
        """The posts of `post_ids` that exist: one cache MGET, then one store query (and
        one cache fill) for the misses. Deleted posts are never returned, even if cached.
        Only ready posts are cached: they change no more except in their counts."""
        return await self.complete(await self._cache.lookup(post_ids))

    async def complete(self, lookup: Lookup) -> dict[int, Post]:
        """The posts of a cache `lookup`: the misses from the store (one query), cached."""
        posts = dict(lookup.found)
        if lookup.missing:
            fetched = await self._store.get_posts(list(lookup.missing))
            posts.update(fetched)
            ready = {p: post for p, post in fetched.items() if post.status == "ready"}
            await self._cache.fill(ready, lookup.missing)
        return posts

    async def start_counting(self, post_id: int) -> None:
        """A post became ready: its like counters exist from now on (zero), so reads
        need not mark it for a recount."""
        await self._counters.start(post_id)

    async def views(self, viewer: User | None, posts: list[Post],
                    authors: Mapping[int, dict[str, Any]] | None = None,
                    counts: dict[int, int] | None = None) -> list[dict[str, Any]]:
        """API.md's `post` for each of `posts` (in order) whose author exists, with like
        counts from the counters (read unless given) and `liked_by_viewer` from the
        durable likes. `authors` maps author ids to their `author_view` (read from the
        store unless given). A post without counters shows its stored count and is
        recounted at the next flush."""
        if not posts:
            return []
        ids = [p.post_id for p in posts]
        if authors is None:
            users = await self._store.get_users({p.author_id for p in posts})
            authors = {u: author_view(user) for u, user in users.items()}
        if counts is None:
            counts = await self._counters.totals(ids)
        lost = [p.post_id for p in posts if p.post_id not in counts and p.status == "ready"]
        if lost:  # counters gone with Redis: the stored counts until the next flush rebuilds them
            await self._counters.mark_dirty(lost)
        liked = await self._store.liked_among(viewer.user_id, ids) if viewer else set()
        return [
            viewed_by(self._fields_of(p), p, authors[p.author_id],
                      liked_by_viewer=p.post_id in liked,
                      like_count=counts.get(p.post_id, p.like_count))
            for p in posts if p.author_id in authors
        ]

    def _fields_of(self, post: Post) -> dict[str, Any]:
        """`post_fields(post)`, kept while the post cache hands out this same `Post` (it
        does while the entry is unchanged); the oldest kept is dropped past `VIEWS_KEEP`."""
        kept = self._fields.get(post.post_id)
        if kept is not None and kept[0] is post:
            return kept[1]
        fields = post_fields(post, self._keys)
        self._fields.pop(post.post_id, None)
        self._fields[post.post_id] = (post, fields)
        if len(self._fields) > VIEWS_KEEP:
            del self._fields[next(iter(self._fields))]
        return fields
