"""Plain domain values passed across the storage boundary."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

PostKind = Literal["photo", "video"]
PostStatus = Literal["processing", "ready", "failed"]


def utc_from_ms(ms: int) -> datetime:
    """The UTC datetime of a millisecond Unix timestamp."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def ms_from_utc(when: datetime) -> int:
    """The millisecond Unix timestamp of an aware datetime."""
    return int(when.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class NewUser:
    user_id: int
    username: str
    email: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class User:
    user_id: int
    username: str
    email: str
    password_hash: str
    display_name: str
    bio: str
    profile_pic: str | None
    followers_count: int
    following_count: int
    posts_count: int
    created_at: datetime
    is_private: bool = False
    """Only followers see the account's content; follows of it are requests first."""


@dataclass(frozen=True, slots=True)
class Relation:
    """What one viewer is to one owner, as the visibility rule needs it."""

    following: bool = False
    """The viewer follows the owner."""
    requested: bool = False
    """The viewer asked to follow the owner, not yet answered."""
    blocking: bool = False
    """The viewer blocks the owner."""
    blocked_by: bool = False
    """The owner blocks the viewer."""
    muting: bool = False
    """The viewer mutes the owner."""


NO_RELATION = Relation()

RELATION_FIELDS = {"follow": "following", "request": "requested", "block": "blocking",
                   "blocked_by": "blocked_by", "mute": "muting"}
"""Each kind of edge an adapter reports, and the `Relation` field it sets."""


def relations_from(owner_ids: Iterable[int], edges: Iterable[tuple[str, int]]) -> dict[int, Relation]:
    """Every owner's `Relation`, from the (kind, owner id) edges an adapter found."""
    found: dict[int, dict[str, bool]] = {}
    for kind, owner in edges:
        found.setdefault(owner, {})[RELATION_FIELDS[kind]] = True
    return {owner: Relation(**found[owner]) if owner in found else NO_RELATION
            for owner in owner_ids}


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token as stored: only the SHA-256 of the secret, never the secret."""

    token_hash: bytes
    user_id: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Post:
    post_id: int
    author_id: int
    kind: PostKind
    status: PostStatus
    created_at: datetime
    caption: str = ""
    location: str = ""
    alt_text: str = ""
    hashtags: tuple[str, ...] = ()
    media: dict[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None
    like_count: int = 0
    comment_count: int = 0


@dataclass(frozen=True, slots=True)
class Comment:
    comment_id: int
    post_id: int
    author_id: int
    text: str
    created_at: datetime
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    """Lowercase usernames mentioned with @, kept for notifications."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; `next_position` is where the next page starts, or None at the end."""

    items: list[T]
    next_position: int | None
