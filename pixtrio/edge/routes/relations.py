"""Routes under /api/me for the viewer's relations: follow requests, blocks and mutes."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import document_response, validate_querystring

from pixtrio.edge.auth import require_viewer, signed_in
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.ratelimits import rate_limited
from pixtrio.edge.routes.users import user_list
from pixtrio.edge.services import services
from pixtrio.protocol.rest import ListQuery, UserListOut

bp = Blueprint("relations", __name__)


@bp.get("/api/me/follow-requests")
@signed_in
@validate_querystring(ListQuery)
@document_response(UserListOut)
@errors(400, 401, 422, 503)
async def follow_requests(query_args: ListQuery) -> dict[str, Any]:
    """Users asking to follow you, newest request first."""
    s = services()
    before = s.cursors.decode("follow_requests", query_args.cursor)
    page = await s.graph.requests(await require_viewer(), before=before, limit=query_args.limit)
    return await user_list(page, "follow_requests")


@bp.post("/api/me/follow-requests/<username>/accept")
@signed_in
@rate_limited("follows")
@no_content
@errors(401, 404, 503)
async def accept(username: str) -> tuple[str, int]:
    """Accept a follow request: they follow you from now on, and both of you are told."""
    await services().graph.accept(await require_viewer(), username)
    return "", 204


@bp.post("/api/me/follow-requests/<username>/decline")
@signed_in
@rate_limited("follows")
@no_content
@errors(401, 404, 503)
async def decline(username: str) -> tuple[str, int]:
    """Decline a follow request (idempotent)."""
    await services().graph.decline(await require_viewer(), username)
    return "", 204


@bp.get("/api/me/blocks")
@signed_in
@validate_querystring(ListQuery)
@document_response(UserListOut)
@errors(400, 401, 422, 503)
async def blocks(query_args: ListQuery) -> dict[str, Any]:
    """The users you block, most recent first."""
    s = services()
    before = s.cursors.decode("blocks", query_args.cursor)
    page = await s.graph.blocks(await require_viewer(), before=before, limit=query_args.limit)
    return await user_list(page, "blocks", everyone=True)


@bp.get("/api/me/mutes")
@signed_in
@validate_querystring(ListQuery)
@document_response(UserListOut)
@errors(400, 401, 422, 503)
async def mutes(query_args: ListQuery) -> dict[str, Any]:
    """The users you mute, most recent first."""
    s = services()
    before = s.cursors.decode("mutes", query_args.cursor)
    page = await s.graph.mutes(await require_viewer(), before=before, limit=query_args.limit)
    return await user_list(page, "mutes")
