"""Loading posts through the Redis post cache and shaping them for a viewer, batched:
the same few round trips for one post or a page of a hundred. A private author's posts show
signed media URLs (`MediaSigner`), made at render time and kept until their expiry turns."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from functools import partial
from typing import Any

import orjson

from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.signing import MediaSigner
from pixtrio.features.views import author_view, post_fields, viewed_by
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.post_cache import DECODED_KEEP, Lookup, PostCache
from pixtrio.storage.types import Post, User

VIEWER_FIELDS = ("author", "like_count", "liked_by_viewer")
"""What `viewed_by` fills in; the rest of a post's view is the same for every viewer."""

VIEWS_KEEP = DECODED_KEEP
"""Posts whose viewer-independent view is kept, reused while their cache entry is the same."""


class PostReader:
    def __init__(self, store: MetadataStore, cache: PostCache, counters: LikeCounters,
                 media_keys: MediaKeys, signer: MediaSigner) -> None:
        self._store = store
        self._cache = cache
        self._counters = counters
        self._keys = media_keys
        self._signer = signer
        self._fields: dict[int, _Kept] = {}

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
                    authors: Mapping[int, User] | None = None,
                    counts: dict[int, int] | None = None) -> list[dict[str, Any]]:
        """API.md's `post` for each of `posts` (in order) whose author exists, with like
        counts from the counters (read unless given) and `liked_by_viewer` from the
        durable likes. `authors` maps author ids to their users (read from the store
        unless given); a private author's media URLs are signed. A post without counters
        shows its stored count and is recounted at the next flush."""
        if not posts:
            return []
        if authors is None:
            authors = await self._store.get_users({p.author_id for p in posts})
        cards = {u: author_view(user) for u, user in authors.items()}
        counts, liked = await self._viewer_state(viewer, posts, counts)
        exp = self._signer.expiry(time.time())
        return [
            viewed_by(self._kept(p, exp if authors[p.author_id].is_private else None).fields,
                      p, cards[p.author_id], liked_by_viewer=p.post_id in liked,
                      like_count=counts.get(p.post_id, p.like_count))
            for p in posts if p.author_id in authors
        ]

    async def views_json(self, posts: list[Post], authors: Mapping[int, bytes],
                         counts: dict[int, int], liked: set[int],
                         private: Collection[int]) -> list[bytes]:
        """`views` in JSON (the same objects, keys in another order), given each author's
        `author_view` in JSON, the like counts, the posts the viewer likes and the private
        authors: spliced from the kept JSON of each post's viewer-independent part, so an
        answer encodes nothing but its counts and like states."""
        if not posts:
            return []
        await self._mark_lost(posts, counts)
        exp = self._signer.expiry(time.time()) if private else None
        return [
            b'%s,"author":%s,"like_count":%d,"liked_by_viewer":%s}' % (
                self._kept(p, exp if p.author_id in private else None).head,
                authors[p.author_id], counts.get(p.post_id, p.like_count),
                b"true" if p.post_id in liked else b"false")
            for p in posts if p.author_id in authors
        ]

    async def _viewer_state(self, viewer: User | None, posts: list[Post],
                            counts: dict[int, int] | None) -> tuple[dict[int, int], set[int]]:
        """The posts' like counts (from the counters unless given) and which of them the
        viewer likes. A post without counters is marked for a recount at the next flush."""
        ids = [p.post_id for p in posts]
        if counts is None:
            counts = await self._counters.totals(ids)
        await self._mark_lost(posts, counts)
        liked = await self._store.liked_among(viewer.user_id, ids) if viewer else set()
        return counts, liked

    async def _mark_lost(self, posts: list[Post], counts: dict[int, int]) -> None:
        """Have the next flush recount the ready posts without counters (gone with Redis:
        until then they show their stored counts)."""
        lost = [p.post_id for p in posts if p.post_id not in counts and p.status == "ready"]
        if lost:
            await self._counters.mark_dirty(lost)

    def _kept(self, post: Post, signed_until: int | None = None) -> _Kept:
        """What `post_fields(post)` gives, kept while the post cache hands out this same
        `Post` (it does while the entry is unchanged); the oldest kept is dropped past
        `VIEWS_KEEP`. With `signed_until`, the same with media URLs signed until then,
        kept beside it until another expiry is asked for."""
        kept = self._fields.get(post.post_id)
        if kept is None or kept.post is not post:
            kept = _Kept(post, post_fields(post, self._keys))
            self._fields.pop(post.post_id, None)
            self._fields[post.post_id] = kept
            if len(self._fields) > VIEWS_KEEP:
                del self._fields[next(iter(self._fields))]
        if signed_until is None:
            return kept
        if kept.signed is None or kept.signed_until != signed_until:
            sign = partial(self._signer.sign_until, exp=signed_until)
            kept.signed = _Kept(post, post_fields(post, self._keys, sign))
            kept.signed_until = signed_until
        return kept.signed


class _Kept:
    """A post's viewer-independent view, and the same in JSON without its closing brace
    and the viewer's fields (`head`, made on first use)."""

    __slots__ = ("_head", "fields", "post", "signed", "signed_until")

    def __init__(self, post: Post, fields: dict[str, Any]) -> None:
        self.post = post
        self.fields = fields
        self._head: bytes | None = None
        self.signed: _Kept | None = None
        """The same with media URLs signed until `signed_until` (private authors)."""
        self.signed_until = 0

    @property
    def head(self) -> bytes:
        if self._head is None:
            rest = {k: v for k, v in self.fields.items() if k not in VIEWER_FIELDS}
            self._head = orjson.dumps(rest)[:-1]
        return self._head
