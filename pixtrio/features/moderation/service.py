"""Moderators' actions: removing posts and comments, suspending accounts, resolving
reports. Each is written to the audit log once done."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pixtrio.features.accounts.revocation import Revocations
from pixtrio.features.accounts.service import normalise_username
from pixtrio.features.comments.service import CommentService
from pixtrio.features.errors import Conflict, Forbidden, InvalidField, not_found
from pixtrio.features.moderation.audit import AuditLog
from pixtrio.features.posts.service import PostService
from pixtrio.features.text import check_text
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.mirrored_sets import MirroredSets
from pixtrio.storage.types import Report, User

Resolution = Literal["dismiss", "remove", "suspend"]


class ModerationService:
    def __init__(self, store: MetadataStore, posts: PostService, comments: CommentService,
                 revocations: Revocations, audit: AuditLog, suspended: MirroredSets) -> None:
        self._store = store
        self._posts = posts
        self._comments = comments
        self._revocations = revocations
        self._audit = audit
        self._suspended = suspended
        """The Redis copy of who is suspended, which feeds read (one set: user id 0)."""

    async def remove_post(self, actor: User, post_id: int, details: str = "") -> None:
        """Delete any post as its author's deletion would (live `post.deleted`). Raises
        `NotFound`."""
        post = await self._store.get_post(post_id)
        if post is None:
            raise not_found("post")
        await self._posts.remove(post)
        await self._audit.record(actor, "post.remove", "post", post_id, details)

    async def remove_comment(self, actor: User, comment_id: int, details: str = "") -> None:
        """Delete any comment as its author's deletion would. Raises `NotFound`."""
        comment = await self._store.get_comment(comment_id)
        if comment is None:
            raise not_found("comment")
        await self._comments.remove(comment)
        await self._audit.record(actor, "comment.remove", "comment", comment_id, details)

    async def suspend(self, actor: User, username: str, reason: str) -> None:
        """Suspend an account: it cannot sign in, every token is revoked (its sockets on
        every process close with 4001) and its content reads as gone. Idempotent. Raises
        `NotFound`, `InvalidField` for oneself or control characters in `reason`,
        `Forbidden` for a moderator suspending an admin."""
        check_text("reason", reason, lines=True)
        await self._suspend(actor, await self._find(username), reason)

    async def unsuspend(self, actor: User, username: str, reason: str) -> None:
        """Lift a suspension: the account's content reads as before. Idempotent. Raises
        like `suspend`."""
        check_text("reason", reason, lines=True)
        user = await self._find(username)
        self._check_may_act_on(actor, user)
        await self._store.set_suspended(user.user_id, False)
        await self._suspended.changed(0, user.user_id, present=False)
        await self._audit.record(actor, "user.unsuspend", "user", user.user_id, reason)

    async def resolve(self, actor: User, report_id: int, action: Resolution) -> Report:
        """Close an open report with `action` on what it points at: nothing (dismiss),
        delete the post or comment (remove, done already if it is gone), or suspend the
        reported user or the author (suspend). Raises `NotFound`, `Conflict` when the
        report is already resolved, `InvalidField` to remove a user or suspend the author of
        content that is gone, and what `suspend` raises."""
        report = await self._store.get_report(report_id)
        if report is None:
            raise not_found("report")
        if report.status != "open":
            raise Conflict("this report is already resolved", code="already_resolved")
        details = f"report {report_id}"
        if action == "remove":
            await self._remove_target(actor, report, details)
        elif action == "suspend":
            owner = await self._owner(report)
            await self._suspend(actor, owner, details)
        resolved = await self._store.resolve_report(
            report_id, resolution=action, resolved_by=actor.user_id, resolved_at=datetime.now(UTC))
        if resolved is None:
            raise Conflict("this report is already resolved", code="already_resolved")
        await self._audit.record(actor, "report.resolve", report.target, report.target_id,
                                 f"{details}: {action}")
        return resolved

    async def _remove_target(self, actor: User, report: Report, details: str) -> None:
        if report.target == "user":
            raise InvalidField("action", "a user cannot be removed; suspend them")
        if report.target == "post" and await self._store.get_post(report.target_id):
            await self.remove_post(actor, report.target_id, details)
        elif report.target == "comment" and await self._store.get_comment(report.target_id):
            await self.remove_comment(actor, report.target_id, details)

    async def _owner(self, report: Report) -> User:
        """The reported user, or the author of the reported post or comment."""
        owner_id: int | None = report.target_id if report.target == "user" else None
        if report.target == "post":
            post = await self._store.get_post(report.target_id)
            owner_id = post.author_id if post else None
        elif report.target == "comment":
            comment = await self._store.get_comment(report.target_id)
            owner_id = comment.author_id if comment else None
        owner = await self._store.get_user(owner_id) if owner_id is not None else None
        if owner is None:
            raise InvalidField("action", f"the reported {report.target} is gone")
        return owner

    async def _find(self, username: str) -> User:
        user = await self._store.get_user_by_username(normalise_username(username))
        if user is None:
            raise not_found("user")
        return user

    async def _suspend(self, actor: User, user: User, reason: str) -> None:
        self._check_may_act_on(actor, user)
        await self._store.set_suspended(user.user_id, True)
        await self._suspended.changed(0, user.user_id, present=True)
        await self._revocations.revoke_all(user.user_id)
        await self._audit.record(actor, "user.suspend", "user", user.user_id, reason)

    @staticmethod
    def _check_may_act_on(actor: User, user: User) -> None:
        if user.user_id == actor.user_id:
            raise InvalidField("username", "you cannot suspend or unsuspend yourself")
        if user.role == "admin" and actor.role != "admin":
            raise Forbidden("moderators cannot suspend or unsuspend admins")
