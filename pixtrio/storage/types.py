"""Plain domain values passed across the storage boundary."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

T = TypeVar("T")

PostKind = Literal["photo", "video"]
PostStatus = Literal["processing", "ready", "failed"]
Role = Literal["user", "moderator", "admin"]
ReportTarget = Literal["post", "comment", "user"]
ReportStatus = Literal["open", "resolved"]


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
    role: Role = "user"
    suspended: bool = False
    """A suspended account cannot sign in and its content is hidden until it is unsuspended."""
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
    owner_suspended: bool = False
    """The owner's account is suspended (known here too for the paths that have only the
    owner's id: the feed, live events and replays)."""
    owner_private: bool = False
    """The owner's account is private (for the feed, which signs such owners' media URLs)."""


NO_RELATION = Relation()

RELATION_FIELDS = {"follow": "following", "request": "requested", "block": "blocking",
                   "blocked_by": "blocked_by", "mute": "muting", "suspended": "owner_suspended",
                   "private": "owner_private"}
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
    """A bearer token as stored: only the SHA-256 of the secret, never the secret; with
    what its owner sees of it as a session."""

    token_hash: bytes
    user_id: int
    created_at: datetime
    session_id: str = field(default_factory=lambda: secrets.token_hex(12))
    """An opaque ASCII id naming the token's session to its owner (not the token, nor its
    hash), unique across tokens: a new random one unless given."""
    last_used_at: datetime | None = None
    """When the token was last seen in use (updated at most every few minutes)."""
    user_agent: str = ""
    ip: str = ""


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
class Report:
    """A user's report of a post, comment or user; open until a moderator resolves it."""

    report_id: int
    reporter_id: int
    target: ReportTarget
    target_id: int
    reason: str
    text: str
    created_at: datetime
    status: ReportStatus = "open"
    resolution: str | None = None
    """The moderator's action once resolved: dismiss, remove or suspend."""
    resolved_by: int | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One moderator action, kept for good. `actor_id` is None for the command line."""

    action_id: int
    actor_id: int | None
    action: str
    target_kind: str
    target_id: int
    details: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list; `next_position` is where the next page starts, or None at the end."""

    items: list[T]
    next_position: int | None


HashSource = Literal["image", "pdq", "post"]


@dataclass(frozen=True, slots=True)
class HashBlock:
    """A perceptual-hash blocklist entry: uploads whose PDQ hash is within the match
    distance of `pdq` or of one of its `variants` are refused."""

    block_id: int
    pdq: str
    """64 lowercase hex digits."""
    source: HashSource
    """How it was added: from an image's bytes, as a bare hash, or from a post's hash."""
    created_at: datetime
    variants: tuple[str, ...] = ()
    """The hashes of the image's rotations and mirrors (empty for a bare hash)."""
    note: str = ""
    added_by: int | None = None
    """The moderator's user id."""
    post_id: int | None = None
    """The post whose hash it is, for source "post"."""


@dataclass(frozen=True, slots=True)
class PostHashes:
    """The PDQ hashes of a post's photo or video poster. Kept when the post is deleted, so
    a removed post can still be added to the blocklist."""

    post_id: int
    author_id: int
    dihedral: tuple[str, ...]
    """As is, then its rotations and mirrors (see `codecs.pdq.PdqHashes`)."""
    quality: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class HashMatch:
    """A refused upload, kept for moderators: which entry it matched and how closely."""

    match_id: int
    block_id: int
    distance: int
    user_id: int
    """Who uploaded it."""
    created_at: datetime
    post_id: int | None = None
    """The post that failed; None for an avatar."""
