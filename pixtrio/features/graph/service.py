"""The follow graph: profiles as a viewer sees them, following (and follow requests to
private accounts), follower lists, blocks and mutes."""

from __future__ import annotations

from dataclasses import dataclass

from pixtrio.features.accounts.service import USERNAME, normalise_username
from pixtrio.features.errors import InvalidField, NotAuthenticated, not_found
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.ids import IdGenerator
from pixtrio.features.notify import Notifier
from pixtrio.features.visibility.rule import can_see_profile, owner_visible
from pixtrio.features.visibility.service import Visibility
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.mirrored_sets import MirroredSets
from pixtrio.storage.types import Page, Relation, User

ACCEPT_BATCH = 100
"""Pending requests accepted per store read when an account goes public."""


@dataclass(frozen=True)
class FollowState:
    following: bool
    requested: bool


class GraphService:
    def __init__(self, store: MetadataStore, ids: IdGenerator, fanout: FanOut,
                 notifier: Notifier, private: MirroredSets) -> None:
        self._store = store
        self._ids = ids
        self._fanout = fanout
        self._notifier = notifier
        self._private = private
        """The Redis copy of which accounts are private, which feeds read (one set: id 0)."""
        self._visibility = Visibility(store)

    async def find(self, username: str) -> User:
        """The user named `username` (any case) if others may see them
        (`owner_visible`). Raises `NotFound`."""
        name = normalise_username(username)
        user = await self._store.get_user_by_username(name) if USERNAME.fullmatch(name) else None
        if user is None or not owner_visible(user):
            raise not_found("user")
        return user

    async def profile(self, viewer: User | None, username: str) -> tuple[User, Relation]:
        """The user named `username` and the viewer's relation to them. Raises `NotFound`
        when there is none or either blocks the other."""
        user = await self.find(username)
        return user, await self._visibility.profile(viewer, user)

    async def seen_by(self, viewer: User | None, users: list[User], *,
                      everyone: bool = False) -> list[tuple[User, Relation]]:
        """`users` (in order) with the viewer's relation to each, leaving out those whose
        profile the viewer may not see unless `everyone` (one store round trip)."""
        viewer_id = viewer.user_id if viewer else None
        relations = await self._visibility.relations(viewer_id, [u.user_id for u in users])
        return [(u, relations[u.user_id]) for u in users
                if everyone or can_see_profile(viewer_id, u, relations[u.user_id])]

    async def follow(self, viewer: User, username: str) -> FollowState:
        """Follow `username`, or ask to when the account is private; idempotent. Raises
        `NotFound` (also when either blocks the other), or `InvalidField` for oneself."""
        target = await self.find(username)
        if target.user_id == viewer.user_id:
            raise InvalidField("username", "you cannot follow yourself")
        relation = await self._visibility.interaction(viewer, target, "follow")
        if target.is_private and not relation.following:
            if await self._store.request_follow(self._ids.next_id(), viewer.user_id,
                                                target.user_id):
                await self._notifier.notification(target.user_id, "follow_request", viewer)
            return FollowState(following=False, requested=True)
        added = await self._store.follow(self._ids.next_id(), viewer.user_id, target.user_id)
        # Even when the follow existed: a retry redoes what a failed call left undone.
        await self._fanout.followed(viewer.user_id, target.user_id)
        if added:
            await self._notifier.notification(target.user_id, "follow", viewer)
        return FollowState(following=True, requested=False)

    async def unfollow(self, viewer: User, username: str) -> None:
        """Stop following `username` (or withdraw the request); idempotent. Raises
        `NotFound`."""
        target = await self.find(username)
        await self._store.remove_follow_request(viewer.user_id, target.user_id)
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

    async def followers(self, viewer: User | None, username: str, *, before: int | None,
                        limit: int) -> Page[User]:
        """Raises `NotFound` when the viewer may not see the user's content."""
        user = await self.find(username)
        await self._visibility.content(viewer, user)
        return await self._store.list_followers(user.user_id, before=before, limit=limit)

    async def following(self, viewer: User | None, username: str, *, before: int | None,
                        limit: int) -> Page[User]:
        """Raises `NotFound` when the viewer may not see the user's content."""
        user = await self.find(username)
        await self._visibility.content(viewer, user)
        return await self._store.list_following(user.user_id, before=before, limit=limit)

    # follow requests

    async def set_private(self, viewer: User, is_private: bool) -> User:
        """Make the account private (followers stay) or public (every pending request is
        accepted, as `accept` does). Raises `NotAuthenticated` if the account is gone."""
        updated = await self._store.update_profile(viewer.user_id, is_private=is_private)
        if updated is None:
            raise NotAuthenticated("this account no longer exists")
        await self._private.changed(0, viewer.user_id, present=is_private)
        while not is_private:
            page = await self._store.list_follow_requests(viewer.user_id, before=None,
                                                          limit=ACCEPT_BATCH)
            if not page.items:
                break
            for requester in page.items:
                await self._accepted(updated, requester)
        return await self._store.get_user(viewer.user_id) or updated

    async def requests(self, viewer: User, *, before: int | None, limit: int) -> Page[User]:
        """Users asking to follow the viewer, newest request first."""
        return await self._store.list_follow_requests(viewer.user_id, before=before, limit=limit)

    async def accept(self, viewer: User, username: str) -> None:
        """Accept `username`'s request: the follow is made (fanned out like any follow)
        and both are notified. Idempotent once accepted; raises `NotFound` when no
        request is pending and `username` does not follow the viewer."""
        requester = await self.find(username)
        if not await self._accepted(viewer, requester):
            relation = await self._visibility.relations(requester.user_id, [viewer.user_id])
            if not relation[viewer.user_id].following:
                raise not_found("follow request")
            await self._fanout.followed(requester.user_id, viewer.user_id)

    async def _accepted(self, owner: User, requester: User) -> bool:
        """Turn a pending request into a follow; False if none was pending."""
        if not await self._store.accept_follow_request(self._ids.next_id(), requester.user_id,
                                                       owner.user_id):
            return False
        await self._fanout.followed(requester.user_id, owner.user_id)
        await self._notifier.notification(owner.user_id, "follow", requester)
        await self._notifier.notification(requester.user_id, "follow_accepted", owner)
        return True

    async def decline(self, viewer: User, username: str) -> None:
        """Decline `username`'s request; idempotent. Raises `NotFound` for no such user."""
        requester = await self.find(username)
        await self._store.remove_follow_request(requester.user_id, viewer.user_id)

    # blocks and mutes

    async def _other(self, viewer: User, username: str, verb: str) -> User:
        target = await self.find(username)
        if target.user_id == viewer.user_id:
            raise InvalidField("username", f"you cannot {verb} yourself")
        return target

    async def block(self, viewer: User, username: str) -> None:
        """Block `username`: follows and requests between the two go, both ways, and each
        disappears for the other. Idempotent. Raises `NotFound`, or `InvalidField` for
        oneself."""
        target = await self._other(viewer, username, "block")
        await self._store.block(self._ids.next_id(), viewer.user_id, target.user_id)
        # Even when the block existed: a retry redoes what a failed call left undone.
        await self._fanout.unfollowed(viewer.user_id, target.user_id)
        await self._fanout.unfollowed(target.user_id, viewer.user_id)

    async def unblock(self, viewer: User, username: str) -> None:
        """Idempotent. Raises `NotFound`, or `InvalidField` for oneself."""
        target = await self._other(viewer, username, "unblock")
        await self._store.unblock(viewer.user_id, target.user_id)

    async def mute(self, viewer: User, username: str) -> None:
        """Mute `username`: their posts leave the viewer's feed and live stream; the
        follow stays. Idempotent. Raises `NotFound`, or `InvalidField` for oneself."""
        target = await self._other(viewer, username, "mute")
        await self._store.mute(self._ids.next_id(), viewer.user_id, target.user_id)
        await self._fanout.muted(viewer.user_id, target.user_id)  # a retry redoes it too

    async def unmute(self, viewer: User, username: str) -> None:
        """Idempotent. Raises `NotFound`, or `InvalidField` for oneself."""
        target = await self._other(viewer, username, "unmute")
        await self._store.unmute(viewer.user_id, target.user_id)
        await self._fanout.unmuted(viewer.user_id, target.user_id)

    async def blocks(self, viewer: User, *, before: int | None, limit: int) -> Page[User]:
        return await self._store.list_blocks(viewer.user_id, before=before, limit=limit)

    async def mutes(self, viewer: User, *, before: int | None, limit: int) -> Page[User]:
        return await self._store.list_mutes(viewer.user_id, before=before, limit=limit)
