"""Routes for reports (any signed-in user) and the moderators' queue, removals,
suspensions, roles and audit log (under /api/mod)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import document_response, validate_querystring, validate_request

from pixtrio.edge.auth import require_role, require_viewer, signed_in
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.ratelimits import rate_limited
from pixtrio.edge.services import services
from pixtrio.features.errors import not_found
from pixtrio.features.ids import parse_id
from pixtrio.features.moderation.views import audit_view, queued_report_view, report_view
from pixtrio.features.views import user_view
from pixtrio.protocol.rest import (
    AuditListOut,
    ListQuery,
    ReportIn,
    ReportListOut,
    ReportOut,
    ResolveIn,
    RoleIn,
    SuspendIn,
    UserOut,
)

bp = Blueprint("moderation", __name__)


def path_id(raw: str, what: str) -> int:
    """The id in a path; a 404 naming `what` if `raw` is no id."""
    found = parse_id(raw)
    if found is None:
        raise not_found(what)
    return found


@bp.post("/api/reports")
@signed_in
@rate_limited("reports")
@validate_request(ReportIn)
@document_response(ReportOut, 201)
@errors(400, 401, 404, 413, 422, 503)
async def report(data: ReportIn) -> tuple[dict[str, Any], int]:
    """Report a post, comment or user you can see to the moderators."""
    filed = await services().reports.file(
        await require_viewer(), data.target, path_id(data.id, data.target), data.reason,
        data.text)
    return report_view(filed), 201


@bp.get("/api/mod/reports")
@require_role("moderator")
@validate_querystring(ListQuery)
@document_response(ReportListOut)
@errors(400, 401, 403, 422, 503)
async def report_queue(query_args: ListQuery) -> dict[str, Any]:
    """Moderators: reports, open ones first, each with what it points at."""
    s = services()
    page = await s.reports.queue(s.cursors.decode("mod_reports", query_args.cursor),
                                 limit=query_args.limit)
    return {"reports": [queued_report_view(r) for r in page.items],
            "next_cursor": s.cursors.encode("mod_reports", page.next_position)}


@bp.post("/api/mod/reports/<report_id>/resolve")
@require_role("moderator")
@rate_limited("moderation")
@validate_request(ResolveIn)
@document_response(ReportOut)
@errors(400, 401, 403, 404, 409, 413, 422, 503)
async def resolve_report(report_id: str, data: ResolveIn) -> dict[str, Any]:
    """Moderators: close a report by dismissing it, removing the post or comment, or
    suspending the reported user or the author."""
    resolved = await services().moderation.resolve(
        await require_viewer(), path_id(report_id, "report"), data.action)
    return report_view(resolved)


@bp.delete("/api/mod/posts/<post_id>")
@require_role("moderator")
@rate_limited("moderation")
@no_content
@errors(401, 403, 404, 503)
async def remove_post(post_id: str) -> tuple[str, int]:
    """Moderators: delete any post, everywhere."""
    await services().moderation.remove_post(await require_viewer(), path_id(post_id, "post"))
    return "", 204


@bp.delete("/api/mod/comments/<comment_id>")
@require_role("moderator")
@rate_limited("moderation")
@no_content
@errors(401, 403, 404, 503)
async def remove_comment(comment_id: str) -> tuple[str, int]:
    """Moderators: delete any comment."""
    await services().moderation.remove_comment(await require_viewer(),
                                               path_id(comment_id, "comment"))
    return "", 204


@bp.post("/api/mod/users/<username>/suspend")
@require_role("moderator")
@rate_limited("moderation")
@validate_request(SuspendIn)
@no_content
@errors(400, 401, 403, 404, 413, 422, 503)
async def suspend(username: str, data: SuspendIn) -> tuple[str, int]:
    """Moderators: suspend an account: signed out everywhere, sign-in refused, its
    content hidden until unsuspended."""
    await services().moderation.suspend(await require_viewer(), username, data.reason)
    return "", 204


@bp.post("/api/mod/users/<username>/unsuspend")
@require_role("moderator")
@rate_limited("moderation")
@validate_request(SuspendIn)
@no_content
@errors(400, 401, 403, 404, 413, 422, 503)
async def unsuspend(username: str, data: SuspendIn) -> tuple[str, int]:
    """Moderators: lift a suspension; the account's content is back."""
    await services().moderation.unsuspend(await require_viewer(), username, data.reason)
    return "", 204


@bp.post("/api/mod/users/<username>/role")
@require_role("admin")
@rate_limited("moderation")
@validate_request(RoleIn)
@document_response(UserOut)
@errors(400, 401, 403, 404, 413, 422, 503)
async def grant_role(username: str, data: RoleIn) -> dict[str, Any]:
    """Admins: make a user a moderator or admin, or a plain user again."""
    user = await services().roles.grant(await require_viewer(), username, data.role)
    return user_view(user)


@bp.get("/api/mod/audit")
@require_role("moderator")
@validate_querystring(ListQuery)
@document_response(AuditListOut)
@errors(400, 401, 403, 422, 503)
async def audit(query_args: ListQuery) -> dict[str, Any]:
    """Moderators: every moderator action, newest first."""
    s = services()
    page, actors = await s.audit.page(before=s.cursors.decode("mod_audit", query_args.cursor),
                                      limit=query_args.limit)
    return {"actions": [audit_view(e, actors) for e in page.items],
            "next_cursor": s.cursors.encode("mod_audit", page.next_position)}
