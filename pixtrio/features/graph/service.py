"""The follow graph: profiles as a viewer sees them, following, and follower lists."""

from __future__ import annotations

from pixtrio.features.accounts.service import USERNAME, normalise_username
from pixtrio.features.errors import InvalidField, not_found
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.ids import IdGenerator
from pixtrio.features.moderation.owners import is_visible_owner
from pixtrio.features.notify import Notifier
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.types import Page, User


class GraphService:
    def __init__(self, store: MetadataStore, ids: IdGenerator, fanout: FanOut,
                 notifier: Notifier) -> None:
        self._store = store
        self._ids = ids
        self._fanout = fanout
        self._notifier = notifier

    async def find(self, username: str) -> User:
        """The user named `username` (any case) if others may see them
        (`is_visible_owner`). Raises `NotFound`."""
        name = normalise_username(username)
        user = await self._store.get_user_by_username(name) if USERNAME.fullmatch(name) else None
        if user is None or not is_visible_owner(user):
            raise not_found("user")
        return user

    async def follows(self, viewer: User | None, users: list[User]) -> set[int]:
        """Which of `users` the viewer follows (one query; empty when signed out)."""
        if viewer is None or not users:
            return set()
        return await self._store.following_among(viewer.user_id, [u.user_id for u in users])

    async def follow(self, viewer: User, username: str) -> None:
        """Follow `username`; idempotent. Raises `NotFound`, or `InvalidField`
        for oneself."""
        target = await self.find(username)
        if target.user_id == viewer.user_id:
            raise InvalidField("username", "you cannot follow yourself")
        added = await self._store.follow(self._ids.next_id(), viewer.user_id, target.user_id)
        # Even when the follow existed: a retry redoes what a failed call left undone.
        await self._fanout.followed(viewer.user_id, target.user_id)
        if added:
            await self._notifier.notification(target.user_id, "follow", viewer)

    async def unfollow(self, viewer: User, username: str) -> None:
        """Stop following `username`; idempotent. Raises `NotFound`."""
        target = await self.find(username)
        await self._store.unfollow(viewer.user_id, target.user_id)
        await self._fanout.unfollowed(viewer.user_id, target.user_id)  # a retry redoes it too

    async def remove_follows(self, user_id: int) -> None:
        """Remove every follow of the user, both ways, with the counters of the other
        side and the followers' timelines (the account is gone); idempotent."""
        for followee_id in await self._store.following_ids(user_id):
            await self._store.unfollow(user_id, followee_id)
        for follower_id in await self._store.follower_ids(user_id):
            await self._store.unfollow(follower_id, user_id)
            await self._fanout.unfollowed(follower_id, user_id)
        await self._fanout.forget_user(user_id)

    async def followers(self, username: str, *, before: int | None, limit: int) -> Page[User]:
        user = await self.find(username)
        return await self._store.list_followers(user.user_id, before=before, limit=limit)

    async def following(self, username: str, *, before: int | None, limit: int) -> Page[User]:
        user = await self.find(username)
        return await self._store.list_following(user.user_id, before=before, limit=limit)
