"""Shaping reports and audit entries into API.md's JSON answers for moderators."""

from __future__ import annotations

from typing import Any

from pixtrio.features.moderation.reports import Reported
from pixtrio.features.views import author_view, rfc3339
from pixtrio.storage.types import AuditEntry, Report, User


def report_view(report: Report) -> dict[str, Any]:
    """A report as its reporter and moderators see it."""
    return {
        "report_id": str(report.report_id),
        "target": report.target,
        "id": str(report.target_id),
        "reason": report.reason,
        "text": report.text,
        "status": report.status,
        "resolution": report.resolution,
        "created_at": rfc3339(report.created_at),
        "resolved_at": rfc3339(report.resolved_at) if report.resolved_at else None,
    }


def queued_report_view(reported: Reported) -> dict[str, Any]:
    """`report_view` with its reporter and a summary of what it points at (`exists`
    False once that is gone)."""
    owner = reported.owner
    text = (reported.post.caption if reported.post
            else reported.comment.text if reported.comment else None)
    exists = (reported.post or reported.comment or owner) is not None
    post_id = (reported.comment.post_id if reported.comment
               else reported.post.post_id if reported.post else None)
    return {
        **report_view(reported.report),
        "reporter": author_view(reported.reporter) if reported.reporter else None,
        "summary": {
            "exists": exists,
            "owner": author_view(owner) if owner else None,
            "owner_suspended": owner.suspended if owner else None,
            "text": text,
            "post_id": str(post_id) if post_id is not None else None,
        },
    }


def audit_view(entry: AuditEntry, actors: dict[int, User]) -> dict[str, Any]:
    actor = actors.get(entry.actor_id) if entry.actor_id is not None else None
    return {
        "action_id": str(entry.action_id),
        "actor": author_view(actor) if actor else None,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target_id": str(entry.target_id),
        "details": entry.details,
        "created_at": rfc3339(entry.created_at),
    }
