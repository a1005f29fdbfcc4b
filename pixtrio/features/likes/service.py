"""Likes: idempotent per user, durable in the metadata store, counted in sharded Redis
counters, and flushed to the stored `like_count` by a housekeeping loop."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pixtrio.features.notify import Notifier
from pixtrio.features.posts.service import PostService
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.mirrored_sets import MirroredSets
from pixtrio.storage.types import User

log = logging.getLogger("pixtrio.likes")

FLUSH_BATCH = 1000


@dataclass(frozen=True)
class LikeState:
    liked: bool
    like_count: int


class LikeService:
    def __init__(self, store: MetadataStore, counters: LikeCounters, liked: MirroredSets,
                 posts: PostService, notifier: Notifier) -> None:
        self._store = store
        self._counters = counters
        self._liked = liked
        self._posts = posts
        self._notifier = notifier

    async def like(self, viewer: User, post_id: int) -> LikeState:
        """Like a post the viewer can see (`NotFound` otherwise); idempotent."""
        return await self._set(viewer, post_id, liked=True)

    async def unlike(self, viewer: User, post_id: int) -> LikeState:
        """Take the like back (`NotFound` for a post the viewer cannot see); idempotent."""
        return await self._set(viewer, post_id, liked=False)

    async def _set(self, viewer: User, post_id: int, *, liked: bool) -> LikeState:
        post = await self._posts.get(viewer, post_id, action="like")
        if liked:
            changed = await self._store.add_like(post_id, viewer.user_id)
        else:
            changed = await self._store.remove_like(post_id, viewer.user_id)
        # Even when nothing changed: a retry repairs the copy a failed call left stale.
        await self._liked.changed(viewer.user_id, post_id, present=liked)
        total: int | None
        if changed:
            total = await self._counters.add(post_id, 1 if liked else -1)
            if liked:
                await self._notifier.notification(post.author_id, "like", viewer, post_id)
        else:  # a retry, maybe of a call that failed after the store write: recount it
            await self._counters.mark_dirty([post_id])
            total = (await self._counters.totals([post_id])).get(post_id)
        if total is None:  # counters lost with Redis: the stored count until the next flush
            total = post.like_count
        return LikeState(liked, max(0, total))

    async def forget_user(self, user_id: int) -> None:
        """Take back every like of the user (the account is gone); the posts' counts
        follow at the next flush. Idempotent: each post is marked for a recount before
        and after its like is removed, so a crash in between still leaves it counted
        exactly by a flush."""
        post_ids = await self._store.liked_post_ids(user_id)
        await self._counters.mark_dirty(post_ids)
        for post_id in post_ids:
            await self._store.remove_like(post_id, user_id)
        await self._counters.mark_dirty(post_ids)
        await self._liked.drop(user_id)

    async def flush(self) -> int:
        """Make the counters and stored counts of every post liked or unliked since the
        last flush agree with the durable likes; how many posts were flushed."""
        flushed = 0
        while post_ids := await self._counters.take_dirty(FLUSH_BATCH):
            seen = await self._counters.totals(post_ids)
            exact = await self._store.count_likes(post_ids)
            await self._counters.correct(exact, seen)
            await self._store.set_like_counts(exact)
            flushed += len(post_ids)
        return flushed
