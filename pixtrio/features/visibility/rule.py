"""The visibility rule, decided in one place: every read path, list, feed, fan-out and
live event asks these functions and re-implements none of them.

Pure functions of plain values (the viewer's id, the owner, their `Relation`): no I/O.
`Visibility` (service.py) loads the values and applies them.
"""

from __future__ import annotations

from typing import Literal

from pixtrio.storage.types import Relation, User

Interaction = Literal["follow", "like", "comment"]


def owner_visible(owner: User) -> bool:
    """Whether the owner's account shows to anyone at all: not while it is suspended (its
    profile and content read as if they did not exist until it is unsuspended; nothing is
    deleted). Every other rule here starts from it."""
    return not owner.suspended


def can_see_profile(viewer_id: int | None, owner: User, relation: Relation) -> bool:
    """The owner's profile header and counts: hidden (404) when either blocks the other."""
    if not owner_visible(owner):
        return False
    if viewer_id == owner.user_id:
        return True
    return not (relation.blocking or relation.blocked_by)


def can_view(viewer_id: int | None, owner: User, relation: Relation) -> bool:
    """The owner's content: posts and post pages, comments on them, likes lists,
    followers and following lists, media. A private owner's only to followers."""
    if not can_see_profile(viewer_id, owner, relation):
        return False
    return viewer_id == owner.user_id or not owner.is_private or relation.following


def can_interact(viewer_id: int, owner: User, relation: Relation,
                 action: Interaction) -> bool:
    """Whether the viewer may follow the owner (a request, for a private owner), or like
    or comment on the owner's content."""
    if action == "follow":
        return can_see_profile(viewer_id, owner, relation)
    return can_view(viewer_id, owner, relation)


def in_feed(viewer_id: int, owner_id: int, relation: Relation) -> bool:
    """Whether the owner's posts belong in the viewer's home feed and live stream: the
    viewer's own, or those of an account the viewer follows (so private posts only to
    followers) and neither blocks nor mutes, unless the owner is suspended."""
    if viewer_id == owner_id:
        return True
    return relation.following and not (relation.blocking or relation.blocked_by
                                        or relation.muting or relation.owner_suspended)


def shows_activity(relation: Relation) -> bool:
    """Whether a notification of the actor's activity (a like, comment or follow) reaches
    the recipient, `relation` being the recipient's to the actor: never across a block."""
    return not (relation.blocking or relation.blocked_by)
