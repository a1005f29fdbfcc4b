"""Reports: users flag a post, comment or user they can see, with a reason from a fixed
list; moderators read them open first, each with what it points at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pixtrio.features.errors import InvalidField, not_found
from pixtrio.features.ids import MAX_ID, IdGenerator
from pixtrio.features.posts.service import PostService
from pixtrio.features.text import check_text
from pixtrio.features.visibility.rule import owner_visible
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.types import Comment, Page, Post, Report, ReportTarget, User

REASONS = ("spam", "nudity", "violence", "harassment", "hate", "self_harm", "illegal", "other")
"""Why content is reported (API.md)."""
MAX_REPORT_TEXT = 1000


@dataclass(frozen=True)
class Reported:
    """A report with what it points at, each None once gone."""

    report: Report
    reporter: User | None
    post: Post | None = None
    comment: Comment | None = None
    owner: User | None = None
    """The reported user, or the author of the reported post or comment."""


class ReportService:
    def __init__(self, store: MetadataStore, ids: IdGenerator, posts: PostService) -> None:
        self._store = store
        self._ids = ids
        self._posts = posts

    async def file(self, reporter: User, target: ReportTarget, target_id: int, reason: str,
                   text: str) -> Report:
        """Report a post, comment or user the reporter can see. Raises `NotFound` for
        one they cannot, `InvalidField` for text with control characters or over
        `MAX_REPORT_TEXT` characters."""
        check_text("text", text, lines=True)
        if len(text) > MAX_REPORT_TEXT:
            raise InvalidField("text", f"at most {MAX_REPORT_TEXT} characters")
        if target == "post":
            await self._posts.get(reporter, target_id)
        elif target == "comment":
            comment = await self._store.get_comment(target_id)
            if comment is None:
                raise not_found("comment")
            await self._posts.get(reporter, comment.post_id)
        else:
            user = await self._store.get_user(target_id)
            if user is None or not owner_visible(user):
                raise not_found("user")
        report = Report(report_id=self._ids.next_id(), reporter_id=reporter.user_id,
                        target=target, target_id=target_id, reason=reason, text=text,
                        created_at=datetime.now(UTC))
        await self._store.create_report(report)
        return report

    async def queue(self, position: int | None, *, limit: int) -> Page[Reported]:
        """Open reports newest first, then resolved ones newest first. Positions: an open
        report's id, or minus a resolved one's (`-MAX_ID` starts the resolved ones)."""
        if position is not None and position < 0:
            page = await self._store.list_reports(status="resolved", before=-position, limit=limit)
            return Page(await self._with_targets(page.items), _negated(page.next_position))
        page = await self._store.list_reports(status="open", before=position, limit=limit)
        if page.next_position is not None:
            return Page(await self._with_targets(page.items), page.next_position)
        if len(page.items) == limit:
            return Page(await self._with_targets(page.items), -MAX_ID)
        done = await self._store.list_reports(status="resolved", before=None,
                                              limit=limit - len(page.items))
        return Page(await self._with_targets(page.items + done.items),
                    _negated(done.next_position))

    async def _with_targets(self, reports: list[Report]) -> list[Reported]:
        posts = await self._store.get_posts({r.target_id for r in reports if r.target == "post"})
        comments = {r.target_id: await self._store.get_comment(r.target_id)
                    for r in reports if r.target == "comment"}
        owners: dict[int, int] = {}
        for r in reports:
            thing = (posts.get(r.target_id) if r.target == "post"
                     else comments.get(r.target_id) if r.target == "comment" else None)
            owner_id = r.target_id if r.target == "user" else getattr(thing, "author_id", None)
            if owner_id is not None:
                owners[r.report_id] = owner_id
        users = await self._store.get_users({*owners.values(), *(r.reporter_id for r in reports)})
        return [Reported(r, users.get(r.reporter_id),
                         post=posts.get(r.target_id) if r.target == "post" else None,
                         comment=comments.get(r.target_id) if r.target == "comment" else None,
                         owner=users.get(owners.get(r.report_id, 0)))
                for r in reports]


def _negated(position: int | None) -> int | None:
    return -position if position is not None else None

