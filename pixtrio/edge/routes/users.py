"""Routes under /api/users: profiles, follows and follower lists."""

from __future__ import annotations

from typing import Any

from quart import Blueprint
from quart_schema import document_response, validate_querystring

from pixtrio.edge.auth import require_viewer, signed_in, viewer
from pixtrio.edge.openapi import errors
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
    """A user's profile."""
    me = await viewer()
    user = await services().graph.find(username)
    followed = await services().graph.follows(me, [user])
    return user_view(user, followed_by_viewer=user.user_id in followed)


@bp.post("/api/users/<username>/follow")
@signed_in
@rate_limited("follows")
@document_response(FollowOut)
@errors(401, 404, 422, 503)
async def follow(username: str) -> dict[str, bool]:
    """Follow a user."""
    await services().graph.follow(await require_viewer(), username)
    return {"following": True}


@bp.delete("/api/users/<username>/follow")
@signed_in
@rate_limited("follows")
@document_response(FollowOut)
@errors(401, 404, 503)
async def unfollow(username: str) -> dict[str, bool]:
    """Stop following a user."""
    await services().graph.unfollow(await require_viewer(), username)
    return {"following": False}


async def _user_list(page: Page[User], kind: str) -> dict[str, Any]:
    followed = await services().graph.follows(await viewer(), page.items)
    return {
        "users": [user_view(u, followed_by_viewer=u.user_id in followed) for u in page.items],
        "next_cursor": services().cursors.encode(kind, page.next_position),
    }


@bp.get("/api/users/<username>/followers")
@validate_querystring(ListQuery)
@document_response(UserListOut)
@errors(400, 401, 404, 422, 503)
async def followers(username: str, query_args: ListQuery) -> dict[str, Any]:
    """A user's followers."""
    before = services().cursors.decode("followers", query_args.cursor)
    page = await services().graph.followers(username, before=before, limit=query_args.limit)
    return await _user_list(page, "followers")


@bp.get("/api/users/<username>/following")
@validate_querystring(ListQuery)
@document_response(UserListOut)
@errors(400, 401, 404, 422, 503)
async def following(username: str, query_args: ListQuery) -> dict[str, Any]:
    """The users a user follows."""
    before = services().cursors.decode("following", query_args.cursor)
    page = await services().graph.following(username, before=before, limit=query_args.limit)
    return await _user_list(page, "following")
