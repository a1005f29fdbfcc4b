"""Posts: publishing an upload, who may see a post, deleting, and the lists of an
author's posts and of a hashtag's."""

from __future__ import annotations

from datetime import UTC, datetime

from pixtrio.features.errors import Conflict, Forbidden, not_found
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.posts.uploads import post_kind
from pixtrio.features.text import check_text, hashtags, tag_key
from pixtrio.features.visibility.rule import Interaction
from pixtrio.features.visibility.service import Visibility
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.errors import Conflict as UniqueViolation
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.jobs import JobQueue
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.types import Page, Post, PostStatus, User

VISIBLE_TO_ALL: tuple[PostStatus, ...] = ("ready",)
VISIBLE_TO_AUTHOR: tuple[PostStatus, ...] = ("processing", "ready", "failed")


def visible(post: Post, viewer: User | None) -> bool:
    """Others see only ready posts; authors also see their processing and failed ones."""
    return post.status == "ready" or (viewer is not None and viewer.user_id == post.author_id)


class PostService:
    def __init__(
        self, store: MetadataStore, blobs: BlobStore, photo_jobs: JobQueue, video_jobs: JobQueue,
        media_keys: MediaKeys, fanout: FanOut, cache: PostCache, counters: LikeCounters,
    ) -> None:
        self._store = store
        self._blobs = blobs
        self._queues = {"photo": photo_jobs, "video": video_jobs}
        self._keys = media_keys
        self._fanout = fanout
        self._cache = cache
        self._counters = counters
        self._visibility = Visibility(store)

    async def publish(
        self, viewer: User, post_id: int, *, caption: str, location: str, alt_text: str
    ) -> Post:
        """Turn the viewer's upload into a processing post and queue its media job (photos
        and videos each on a queue of their own).

        Retry-safe: publishing a post that is still processing again returns it as first
        published and queues its job unless the queue holds one, so a publish cut short
        between storing the post and queueing the job is repaired by its retry.

        Raises `InvalidField` for control characters in the caption, location or alt text,
        `NotFound` when there is no such upload of the viewer's, `Conflict` when the post is
        already ready or failed.
        """
        check_text("caption", caption, lines=True)
        check_text("location", location)
        check_text("alt_text", alt_text, lines=True)
        upload = await self._blobs.head(self._keys.original(post_id))
        if upload is None or upload.metadata.get("user_id") != str(viewer.user_id):
            raise not_found("upload")
        kind = post_kind(upload.content_type)
        post = Post(
            post_id=post_id, author_id=viewer.user_id, kind=kind, status="processing",
            created_at=datetime.now(UTC), caption=caption, location=location,
            alt_text=alt_text, hashtags=hashtags(caption),
        )
        try:
            await self._store.create_post(post)
        except UniqueViolation:
            post = await self._published(post_id)
        await self._queues[kind].add_unless_queued(str(post_id), kind=kind)
        return post

    async def _published(self, post_id: int) -> Post:
        """The post a repeated publish answers with: the stored one while it is processing.
        Raises `Conflict` once it is ready or failed, `NotFound` if it was deleted
        meanwhile."""
        post = await self._store.get_post(post_id)
        if post is None:
            raise not_found("upload")
        if post.status != "processing":
            raise Conflict("this post has already been published", code="already_published")
        return post

    async def get(self, viewer: User | None, post_id: int, *,
                  action: Interaction | None = None) -> Post:
        """The post if the viewer may see it (by its status and the visibility rule), and
        may do `action` to it when one is given. Raises `NotFound` otherwise."""
        post = await self._store.get_post(post_id)
        if post is None or not visible(post, viewer):
            raise not_found("post")
        if viewer is not None and viewer.user_id == post.author_id:
            return post
        author = await self._store.get_user(post.author_id)
        if author is None:
            raise not_found("post")
        if action is None:
            await self._visibility.content(viewer, author, "post")
        else:
            assert viewer is not None
            await self._visibility.interaction(viewer, author, action, "post")
        return post

    async def delete(self, viewer: User, post_id: int) -> None:
        """Delete the viewer's post (`remove`). Raises `NotFound` or `Forbidden`."""
        post = await self.get(viewer, post_id)
        if post.author_id != viewer.user_id:
            raise Forbidden("only the author can delete a post")
        await self.remove(post)

    async def remove(self, post: Post) -> None:
        """Delete `post` (its likes and comments with it), every rendition and its
        original, and take it out of the cache and every timeline; idempotent."""
        await self._store.delete_post(post.post_id)
        await self._cache.changed(post.post_id, None)
        await self._fanout.post_deleted(post)
        await self._counters.forget(post.post_id)
        await self._blobs.delete_prefix(self._keys.post_root(post.post_id))
        await self._blobs.delete_prefix(self._keys.original(post.post_id))

    async def by_author(
        self, viewer: User | None, author: User, *, before: int | None, limit: int
    ) -> Page[Post]:
        """The author's posts the viewer may see, newest first. Raises `NotFound` ("user")
        when the viewer may not see the author's content."""
        await self._visibility.content(viewer, author)
        own = viewer is not None and viewer.user_id == author.user_id
        return await self._store.list_posts_by_author(
            author.user_id, statuses=VISIBLE_TO_AUTHOR if own else VISIBLE_TO_ALL,
            before=before, limit=limit,
        )

    async def with_hashtag(self, viewer: User | None, name: str, *, before: int | None,
                           limit: int) -> Page[Post]:
        """The ready posts tagged `name` (in any case) that the viewer may see, newest
        first (a page may come up short of `limit` and still have a cursor). Raises
        `NotFound` for a name no hashtag has (`tag_key`)."""
        tag = tag_key(name)
        if tag is None:
            raise not_found("hashtag")
        page = await self._store.posts_with_hashtag(tag, before=before, limit=limit)
        return Page(await self._visibility.viewable_posts(viewer, page.items),
                    page.next_position)
