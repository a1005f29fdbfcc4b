"""The metadata store contract: what every adapter (SQLite, MongoDB) must do, alike.

Positions (`before=`) are exclusive upper bounds on a list's ordering key: follow-edge ids
for follower lists, post ids for post lists. Lists are newest first, except comments
(oldest first, with `after=` as the exclusive lower bound). All methods may raise
`StorageError` when the store is unreachable; on cancellation, a write that already reached
the driver completes before `trio.Cancelled` propagates, so it is never half-applied.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from pixtrio.storage.types import (
    AuditEntry,
    Comment,
    HashBlock,
    HashMatch,
    NewUser,
    Page,
    Post,
    PostHashes,
    PostStatus,
    Relation,
    Report,
    ReportStatus,
    Role,
    Token,
    User,
)


class UserStore(Protocol):
    async def create_user(self, user: NewUser) -> User:
        """Store a new user. Raises `Conflict("username"|"email")` when either is taken."""
        ...

    async def get_user(self, user_id: int) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None:
        """Exact match on the stored (lowercase) username."""
        ...

    async def get_user_by_login(self, login: str) -> User | None:
        """The user whose username or email equals `login` (both stored lowercase)."""
        ...

    async def get_users(self, user_ids: Collection[int]) -> dict[int, User]:
        """Every user of `user_ids` that exists, by id, in one round trip."""
        ...

    async def update_profile(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        bio: str | None = None,
        profile_pic: str | None = None,
        is_private: bool | None = None,
    ) -> User | None:
        """Set the given (non-None) fields; the updated user, or None if it does not exist."""
        ...

    async def set_password_hash(self, user_id: int, password_hash: str) -> bool:
        """Replace the user's password hash; False if the user does not exist."""
        ...

    async def delete_user(self, user_id: int) -> bool:
        """Remove the user's record (its username and email are free again; its tokens no
        longer sign anyone in); False if it was not there. What the user made is left to
        be removed by the caller."""
    async def set_role(self, user_id: int, role: Role) -> User | None:
        """Give the user `role`; the updated user, or None if it does not exist."""
        ...

    async def set_suspended(self, user_id: int, suspended: bool) -> User | None:
        """Suspend or unsuspend the user; the updated user, or None if it does not exist."""
        ...


class TokenStore(Protocol):
    async def create_token(self, token: Token) -> None: ...

    async def get_token_user(self, token_hash: bytes) -> User | None:
        """The user a live token with this hash belongs to (one round trip), or None."""
        ...

    async def revoke_token(self, token_hash: bytes) -> bool:
        """Revoke the token; True if it was live."""
        ...

    async def list_tokens(self, user_id: int) -> list[Token]:
        """Every live token of the user, newest first."""
        ...

    async def touch_token(self, token_hash: bytes, when: datetime) -> None:
        """Record that the token was used at `when` (no change for an unknown token)."""
        ...

    async def revoke_session(self, user_id: int, session_id: str) -> Token | None:
        """Revoke the user's token whose `session_id` this is; the revoked token, or None
        when the user has no such live token (someone else's session included)."""
        ...

    async def revoke_tokens(self, user_id: int, *, keep: bytes | None = None) -> list[bytes]:
        """Revoke every token of the user but `keep`; the hashes revoked."""
        ...


class FollowStore(Protocol):
    async def follow(self, edge_id: int, follower_id: int, followee_id: int) -> bool:
        """Add the edge and bump both counters once; False (and no change) if it existed."""
        ...

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        """Remove the edge and drop both counters once; False (and no change) if absent."""
        ...

    async def following_among(self, follower_id: int, candidates: Collection[int]) -> set[int]:
        """The subset of `candidates` that `follower_id` follows, in one round trip."""
        ...

    async def list_followers(
        self, user_id: int, *, before: int | None, limit: int
    ) -> Page[User]:
        """Users following `user_id`, most recent follow first."""
        ...

    async def list_following(
        self, user_id: int, *, before: int | None, limit: int
    ) -> Page[User]:
        """Users `user_id` follows, most recent follow first."""
        ...

    async def follower_ids(self, user_id: int) -> list[int]:
        """Every follower id of `user_id` (for fan-out), in no promised order."""
        ...

    async def following_ids(self, user_id: int) -> list[int]:
        """Every id `user_id` follows (to rebuild a timeline), in no promised order."""
        ...


class RelationStore(Protocol):
    """Follow requests, blocks and mutes: what the visibility rule reads beside follows.

    Lists of them page like follower lists: newest first, `before` an exclusive bound on
    the edge (request, block, mute) id."""

    async def request_follow(self, request_id: int, requester_id: int, target_id: int) -> bool:
        """Record a pending follow request; False (and no change) if one is pending."""
        ...

    async def accept_follow_request(self, edge_id: int, requester_id: int,
                                    target_id: int) -> bool:
        """In one atomic step, remove the pending request and add the follow edge (with
        its counters); False (and no change) if no request was pending."""
        ...

    async def remove_follow_request(self, requester_id: int, target_id: int) -> bool:
        """Drop a pending request (declined or withdrawn); False if there was none."""
        ...

    async def list_follow_requests(
        self, target_id: int, *, before: int | None, limit: int
    ) -> Page[User]:
        """Users with a pending request to follow `target_id`, newest request first."""
        ...

    async def block(self, edge_id: int, blocker_id: int, blocked_id: int) -> bool:
        """In one atomic step, add the block and remove follows (with their counters) and
        pending requests between the two, both ways. True if the block is new; the
        follows and requests are removed either way."""
        ...

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        """Remove the block; False if there was none."""
        ...

    async def list_blocks(self, blocker_id: int, *, before: int | None, limit: int) -> Page[User]:
        """Users `blocker_id` blocks, most recent block first."""
        ...

    async def mute(self, edge_id: int, muter_id: int, muted_id: int) -> bool:
        """Add the mute; False (and no change) if it existed."""
        ...

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        """Remove the mute; False if there was none."""
        ...

    async def list_mutes(self, muter_id: int, *, before: int | None, limit: int) -> Page[User]:
        """Users `muter_id` mutes, most recent mute first."""
        ...

    async def relations(self, viewer_id: int, owner_ids: Collection[int]) -> dict[int, Relation]:
        """What `viewer_id` is to each of `owner_ids` (every id present, `NO_RELATION`
        when nothing links them): follows, pending requests, blocks either way and mutes,
        and whether each owner is suspended or private, in one round trip."""
        ...

    async def muter_ids(self, user_id: int) -> list[int]:
        """Every user who mutes `user_id` (to keep its live posts from them), in no
        promised order."""
        ...

    async def muted_ids(self, user_id: int) -> list[int]:
        """Every user `user_id` mutes (to leave out of their feed), in no promised order."""
        ...

    async def suspended_ids(self) -> list[int]:
        """Every suspended user (to hide their posts from feeds), in no promised order."""
        ...

    async def private_ids(self) -> list[int]:
        """Every private account (to sign their media in feeds), in no promised order."""
        ...


class PostStore(Protocol):
    async def create_post(self, post: Post) -> None:
        """Store a new post. Raises `Conflict("post_id")` if the id exists."""
        ...

    async def get_post(self, post_id: int) -> Post | None: ...

    async def get_posts(self, post_ids: Collection[int]) -> dict[int, Post]:
        """Every post of `post_ids` that exists, by id, in one round trip."""
        ...

    async def update_post(self, post_id: int, **fields: Any) -> Post | None:
        """Set plain fields (caption, location, alt_text, hashtags, media, failure_reason).

        Returns the updated post, or None if it does not exist.
        """
        ...

    async def set_post_status(
        self, post_id: int, status: PostStatus, *, failure_reason: str | None = None
    ) -> Post | None:
        """Move a post to `status`; the author's `posts_count` counts ready posts exactly."""
        ...

    async def delete_post(self, post_id: int) -> Post | None:
        """Delete the post with its likes and comments (keeping `posts_count` exact); the
        deleted post, or None."""
        ...

    async def recent_ready_post_ids(
        self, author_ids: Collection[int], *, limit: int
    ) -> list[tuple[int, int]]:
        """(post id, author id) of the newest `limit` ready posts by any of `author_ids`,
        newest first, in one round trip (to build timelines)."""
        ...

    async def processing_posts(self, *, created_before: datetime, limit: int) -> list[Post]:
        """Up to `limit` posts still `processing` that were published before
        `created_before`, oldest first (to find posts whose job was lost)."""
        ...

    async def list_posts_by_author(
        self,
        author_id: int,
        *,
        statuses: Sequence[PostStatus],
        before: int | None,
        limit: int,
    ) -> Page[Post]:
        """The author's posts with one of `statuses`, newest first."""
        ...

    async def posts_with_hashtag(self, tag: str, *, before: int | None, limit: int) -> Page[Post]:
        """The ready posts whose `hashtags` hold `tag` (matched exactly: hashtags are
        stored lowercase), newest first, from an index on the tag."""
        ...


class LikeStore(Protocol):
    async def add_like(self, post_id: int, user_id: int) -> bool:
        """Record that the user likes the post; False (and no change) if it already did."""
        ...

    async def remove_like(self, post_id: int, user_id: int) -> bool:
        """Forget the user's like of the post; False (and no change) if there was none."""
        ...

    async def liked_among(self, user_id: int, post_ids: Collection[int]) -> set[int]:
        """The subset of `post_ids` the user likes, in one round trip."""
        ...

    async def liked_post_ids(self, user_id: int) -> list[int]:
        """Every post id the user likes (to rebuild their liked set), in no promised order."""
        ...

    async def count_likes(self, post_ids: Collection[int]) -> dict[int, int]:
        """The exact number of recorded likes of each post (0 included), in one round trip."""
        ...

    async def set_like_counts(self, counts: Mapping[int, int]) -> None:
        """Store each post's `like_count` (posts that are gone are skipped)."""
        ...


class CommentStore(Protocol):
    async def create_comment(self, comment: Comment) -> bool:
        """Store the comment and bump its post's `comment_count`; False (and no change)
        if the post does not exist."""
        ...

    async def get_comment(self, comment_id: int) -> Comment | None: ...

    async def delete_comment(self, comment_id: int) -> Comment | None:
        """Delete the comment and drop its post's `comment_count`; the comment, or None."""
        ...

    async def list_comments(
        self, post_id: int, *, after: int | None, limit: int
    ) -> Page[Comment]:
        """The post's comments oldest first; `after` is an exclusive lower bound."""
        ...

    async def comments_by_author(self, author_id: int, *, limit: int) -> list[Comment]:
        """Up to `limit` of the author's comments, on any post, oldest first."""
        ...


class ModerationStore(Protocol):
    async def create_report(self, report: Report) -> None:
        """Store a new report. Raises `Conflict("report_id")` if the id exists."""
        ...

    async def get_report(self, report_id: int) -> Report | None: ...

    async def list_reports(
        self, *, status: ReportStatus, before: int | None, limit: int
    ) -> Page[Report]:
        """Reports with `status`, newest first (positions are report ids)."""
        ...

    async def resolve_report(
        self, report_id: int, *, resolution: str, resolved_by: int, resolved_at: datetime
    ) -> Report | None:
        """Mark an open report resolved; the updated report, or None if it does not exist
        or was already resolved (then nothing changes)."""
        ...

    async def add_audit_entry(self, entry: AuditEntry) -> None:
        """Append a moderator action to the audit log."""
        ...

    async def list_audit_entries(self, *, before: int | None, limit: int) -> Page[AuditEntry]:
        """The audit log newest first (positions are action ids)."""
        ...


class HashBlocklistStore(Protocol):
    async def add_hash_block(self, block: HashBlock) -> None:
        """Store a blocklist entry. Raises `Conflict("block_id")` if the id exists."""
        ...

    async def remove_hash_block(self, block_id: int) -> HashBlock | None:
        """Delete the entry; the deleted entry, or None."""
        ...

    async def list_hash_blocks(self, *, before: int | None, limit: int) -> Page[HashBlock]:
        """Blocklist entries, newest first."""
        ...

    async def all_hash_blocks(self) -> list[HashBlock]:
        """Every blocklist entry (to build the in-process matcher), in no promised order."""
        ...

    async def keep_post_hashes(self, hashes: PostHashes) -> None:
        """Store a post's hashes, replacing any kept before. They outlive the post."""
        ...

    async def get_post_hashes(self, post_id: int) -> PostHashes | None: ...

    async def add_hash_match(self, match: HashMatch) -> None:
        """Record an upload refused by the blocklist."""
        ...

    async def list_hash_matches(self, *, before: int | None, limit: int) -> Page[HashMatch]:
        """Recorded blocklist matches, newest first."""
        ...


class MetadataStore(UserStore, TokenStore, FollowStore, RelationStore, PostStore, LikeStore,
                    CommentStore, ModerationStore, HashBlocklistStore, Protocol):
    """Everything the server keeps durably about users, follows and other relations,
    posts, likes, comments, reports, moderator actions and the perceptual-hash blocklist."""

    name: str
    operations: int
    """Calls made to the store by this process (for `/metrics`)."""

    async def ping(self) -> None:
        """Return once the store answers; raise `StorageError` if it does not."""
        ...

    async def aclose(self) -> None:
        """Release connections; safe to call twice."""
        ...
