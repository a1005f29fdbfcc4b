"""Routes under /api/users: profiles, follows, follower lists, blocks and mutes."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import document_response, validate_querystring

from pixtrio.edge.auth import require_viewer, signed_in, viewer
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.ratelimits import rate_limited
from pixtrio.edge.services import services
from pixtrio.features.views import user_view
from pixtrio.protocol.rest import FollowOut, ListQuery, UserListOut, UserOut
from pixtrio.storage.types import Page, User

bp = Blueprint("users", __name__)


@bp.get("/api/users/<username>")
@document_response(UserOut)
@errors(401, 404, 503)
async def profile(username: str) -> dict[str, Any]:
    """A user's profile (a private account's header and counts to non-followers too;
    404 when either blocks the other)."""
    user, relation = await services().graph.profile(await viewer(), username)
    return user_view(user, relation)


@bp.post("/api/users/<username>/follow")
@signed_in
@rate_limited("follows")
@document_response(FollowOut)
@errors(401, 404, 422, 503)
async def follow(username: str) -> dict[str, bool]:
    """Follow a user; for a private account, ask to (`requested`)."""
    state = await services().graph.follow(await require_viewer(), username)
    return {"following": state.following, "requested": state.requested}


@bp.delete("/api/users/<username>/follow")
@signed_in
@rate_limited("follows")
@document_response(FollowOut)
@errors(401, 404, 503)
async def unfollow(username: str) -> dict[str, bool]:
    """Stop following a user, or withdraw a follow request."""
    await services().graph.unfollow(await require_viewer(), username)
    return {"following": False, "requested": False}


async def user_list(page: Page[User], kind: str, *, everyone: bool = False) -> dict[str, Any]:
    """API.md's `{users, next_cursor}` as the viewer sees them: users either blocks are
    left out, unless `everyone` (the viewer's own list of blocks)."""
    seen = await services().graph.seen_by(await viewer(), page.items, everyone=everyone)
    return {
        "users": [user_view(u, relation) for u, relation in seen],
        "next_cursor": services().cursors.encode(kind, page.next_position),
    }


@bp.get("/api/users/<username>/followers")
@validate_querystring(ListQuery)
@document_response(UserListOut)
@errors(400, 401, 404, 422, 503)
async def followers(username: str, query_args: ListQuery) -> dict[str, Any]:
    """A user's followers."""
    before = services().cursors.decode("followers", query_args.cursor)
    page = await services().graph.followers(await viewer(), username, before=before,
                                            limit=query_args.limit)
    return await user_list(page, "followers")


@bp.get("/api/users/<username>/following")
@validate_querystring(ListQuery)
@document_response(UserListOut)
@errors(400, 401, 404, 422, 503)
async def following(username: str, query_args: ListQuery) -> dict[str, Any]:
    """The users a user follows."""
    before = services().cursors.decode("following", query_args.cursor)
    page = await services().graph.following(await viewer(), username, before=before,
                                            limit=query_args.limit)
    return await user_list(page, "following")


@bp.post("/api/users/<username>/block")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 404, 422, 503)
async def block(username: str) -> tuple[str, int]:
    """Block a user: follows and requests between you go, both ways, and each of you
    disappears for the other (idempotent)."""
    await services().graph.block(await require_viewer(), username)
    return "", 204


@bp.delete("/api/users/<username>/block")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 404, 422, 503)
async def unblock(username: str) -> tuple[str, int]:
    """Unblock a user (idempotent)."""
    await services().graph.unblock(await require_viewer(), username)
    return "", 204


@bp.post("/api/users/<username>/mute")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 404, 422, 503)
async def mute(username: str) -> tuple[str, int]:
    """Mute a user: their posts leave your feed and live stream; they notice nothing
    (idempotent)."""
    await services().graph.mute(await require_viewer(), username)
    return "", 204


@bp.delete("/api/users/<username>/mute")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 404, 422, 503)
async def unmute(username: str) -> tuple[str, int]:
    """Unmute a user (idempotent)."""
    await services().graph.unmute(await require_viewer(), username)
    return "", 204
