"""Comments on posts: create, list oldest first, delete by the comment's or post's author."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pixtrio.features.errors import Forbidden, InvalidField, not_found
from pixtrio.features.ids import IdGenerator
from pixtrio.features.notify import Notifier
from pixtrio.features.posts.service import PostService, visible
from pixtrio.features.text import check_text, hashtags, is_blank, mentions
from pixtrio.features.visibility.service import Visibility
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.types import Comment, User

MAX_COMMENT_CHARS = 2200


@dataclass(frozen=True)
class CommentPage:
    comments: list[tuple[Comment, User]]
    next_position: int | None


class CommentService:
    def __init__(self, store: MetadataStore, ids: IdGenerator, posts: PostService,
                 cache: PostCache, notifier: Notifier) -> None:
        self._store = store
        self._ids = ids
        self._posts = posts
        self._cache = cache
        self._notifier = notifier
        self._visibility = Visibility(store)

    async def create(self, viewer: User, post_id: int, text: str) -> Comment:
        """Comment on a post the viewer can see. Raises `NotFound`, or `InvalidField` for blank or
        long text or text with control characters other than tab and line breaks."""
        check_text("text", text, lines=True)
        if is_blank(text):
            raise InvalidField("text", "must not be empty")
        if len(text) > MAX_COMMENT_CHARS:
            raise InvalidField("text", f"at most {MAX_COMMENT_CHARS} characters")
        post = await self._posts.get(viewer, post_id, action="comment")
        comment = Comment(comment_id=self._ids.next_id(), post_id=post_id,
                          author_id=viewer.user_id, text=text, created_at=datetime.now(UTC),
                          hashtags=hashtags(text), mentions=mentions(text))
        if not await self._store.create_comment(comment):
            raise not_found("post")
        await self._refresh(post_id)
        await self._notifier.notification(post.author_id, "comment", viewer, post_id)
        return comment

    async def page(self, viewer: User | None, post_id: int, *, after: int | None,
                   limit: int) -> CommentPage:
        """Comments of a post the viewer can see, oldest first, each with its author (a
        comment whose author is gone, or blocks or is blocked by the viewer, is left out).
        Raises `NotFound`."""
        await self._posts.get(viewer, post_id)
        page = await self._store.list_comments(post_id, after=after, limit=limit)
        users = await self._store.get_users({c.author_id for c in page.items})
        shown = await self._visibility.viewable_users(viewer, list(users.values()))
        authors = {u.user_id: u for u in shown}
        return CommentPage([(c, authors[c.author_id]) for c in page.items if c.author_id in authors],
                           page.next_position)

    async def delete(self, viewer: User, comment_id: int) -> None:
        """Delete a comment; only its author or the post's author may. Raises
        `NotFound` or `Forbidden`."""
        comment = await self._store.get_comment(comment_id)
        post = await self._store.get_post(comment.post_id) if comment else None
        if comment is None or post is None or not visible(post, viewer):
            raise not_found("comment")
        if viewer.user_id not in (comment.author_id, post.author_id):
            raise Forbidden("only the comment's author or the post's author can delete it")
        await self.remove(comment)

    async def remove(self, comment: Comment) -> None:
        """Delete `comment`, its post's count and cache entry following; idempotent."""
        await self._store.delete_comment(comment.comment_id)
        await self._refresh(comment.post_id)

    async def _refresh(self, post_id: int) -> None:
        """The post's `comment_count` changed: replace its cache entry."""
        post = await self._store.get_post(post_id)
        if post is not None and post.status == "ready":
            await self._cache.changed(post_id, post)
