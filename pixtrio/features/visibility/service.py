"""Applying the visibility rule: loading the relations it needs (one store round trip for
any number of owners) and answering as if hidden things did not exist (`NotFound`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import orjson

from pixtrio.features.errors import not_found
from pixtrio.features.visibility.rule import (
    Interaction,
    can_interact,
    can_see_profile,
    can_view,
    in_feed,
    shows_activity,
)
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.types import NO_RELATION, Post, Relation, User


class Visibility:
    def __init__(self, store: MetadataStore) -> None:
        self._store = store

    async def relations(self, viewer_id: int | None,
                        owner_ids: Collection[int]) -> dict[int, Relation]:
        """What the viewer is to each owner (every id present; nothing when signed out
        or for the viewer themself)."""
        others = {o for o in owner_ids if o != viewer_id}
        found = await self._store.relations(viewer_id, others) if viewer_id and others else {}
        return {o: found.get(o, NO_RELATION) for o in owner_ids}

    async def relation(self, viewer: User | None, owner: User) -> Relation:
        viewer_id = viewer.user_id if viewer else None
        return (await self.relations(viewer_id, [owner.user_id]))[owner.user_id]

    async def profile(self, viewer: User | None, owner: User) -> Relation:
        """The viewer's relation to an owner whose profile they may see. Raises
        `NotFound` ("user") otherwise."""
        relation = await self.relation(viewer, owner)
        if not can_see_profile(viewer.user_id if viewer else None, owner, relation):
            raise not_found("user")
        return relation

    async def content(self, viewer: User | None, owner: User, what: str = "user") -> Relation:
        """The viewer's relation to an owner whose content they may see. Raises
        `NotFound` (`what`) otherwise."""
        relation = await self.relation(viewer, owner)
        if not can_view(viewer.user_id if viewer else None, owner, relation):
            raise not_found(what)
        return relation

    async def interaction(self, viewer: User, owner: User, action: Interaction,
                          what: str = "user") -> Relation:
        """The viewer's relation to an owner they may follow, like or comment on. Raises
        `NotFound` (`what`) otherwise."""
        relation = await self.relation(viewer, owner)
        if not can_interact(viewer.user_id, owner, relation, action):
            raise not_found(what)
        return relation

    async def viewable_posts(self, viewer: User | None, posts: list[Post]) -> list[Post]:
        """`posts` (in order) whose authors exist and whose content the viewer may see:
        two store round trips (the authors, the relations) for the whole list."""
        if not posts:
            return []
        viewer_id = viewer.user_id if viewer else None
        authors = await self._store.get_users({p.author_id for p in posts})
        relations = await self.relations(viewer_id, authors.keys())
        return [p for p in posts if p.author_id in authors
                and can_view(viewer_id, authors[p.author_id], relations[p.author_id])]

    async def viewable_users(self, viewer: User | None, users: list[User]) -> list[User]:
        """`users` (in order) whose profiles the viewer may see (one store round trip)."""
        viewer_id = viewer.user_id if viewer else None
        relations = await self.relations(viewer_id, [u.user_id for u in users])
        return [u for u in users if can_see_profile(viewer_id, u, relations[u.user_id])]

    async def in_feed(self, viewer_id: int, posts: list[Post]) -> tuple[list[Post], set[int]]:
        """`posts` (in order) that belong in the viewer's feed, and which of their authors
        (the viewer included) are private: one store round trip."""
        owners = {p.author_id for p in posts}
        # The viewer is asked about too, for their privacy: no edge links one to oneself.
        relations = await self._store.relations(viewer_id, owners) if owners else {}
        shown = [p for p in posts if in_feed(viewer_id, p.author_id, relations[p.author_id])]
        return shown, {o for o, r in relations.items() if r.owner_private}

    async def feed_audience(self, author_id: int, candidates: list[int]) -> list[int]:
        """Those of `candidates` whose live stream may carry the author's new post: not
        muting the author (followers are never blocked: a block removes the follow)."""
        muters = set(await self._store.muter_ids(author_id))
        return [c for c in candidates if c not in muters]

    async def replayable(self, viewer_id: int,
                         events: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The (id, JSON) stream events a resuming session of the viewer may still be
        sent, in order, by the rule as it stands now (one store round trip): a post insert
        only if `in_feed`, a notification only if `shows_activity`. Relations change after
        events are stored; live delivery was screened when the event was made."""
        subjects = [_subject(orjson.loads(body)) for _, body in events]
        relations = await self.relations(viewer_id, {s[1] for s in subjects if s is not None})
        return [event for event, subject in zip(events, subjects, strict=True)
                if subject is None or _allowed(viewer_id, *subject, relations)]


def _subject(event: dict[str, Any]) -> tuple[str, int] | None:
    """An event's type and the account it shows something of (a post's author, a
    notification's actor); None for events that show no account."""
    if event.get("t") == "feed.insert":
        return "feed.insert", int(event["post"]["author"]["user_id"])
    if event.get("t") == "notification":
        return "notification", int(event["actor"]["user_id"])
    return None


def _allowed(viewer_id: int, kind: str, owner: int, relations: dict[int, Relation]) -> bool:
    if kind == "feed.insert":
        return in_feed(viewer_id, owner, relations[owner])
    return shows_activity(relations[owner])
