"""Routes for the home feed, likes and comments."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Blueprint, Response
from quart_schema import document_response, validate_querystring, validate_request

from pixtrio.edge.auth import (
    bearer_present,
    bearer_token,
    invalid_token,
    require_viewer,
    signed_in,
    viewer,
)
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.ratelimits import rate_limited
from pixtrio.edge.routes.posts import parse_post_id
from pixtrio.edge.services import services
from pixtrio.features.accounts.service import hash_token
from pixtrio.features.errors import not_found
from pixtrio.features.ids import parse_id
from pixtrio.features.views import comment_view
from pixtrio.protocol.rest import (
    CommentIn,
    CommentListOut,
    CommentOut,
    LikeOut,
    ListQuery,
    PostListOut,
)

bp = Blueprint("feed", __name__)


@bp.get("/api/feed")
@bearer_present
@validate_querystring(ListQuery)
@document_response(PostListOut)
@errors(400, 401, 422, 503)
async def feed(query_args: ListQuery) -> Response:
    """Ready posts of the viewer and everyone they follow, newest first.

    The token is signed in from the session-token cache in the page's first Redis round trip
    (through the store, then cached, when it is not there); the answer is spliced from JSON
    kept per post and per author (`PostReader.views_json`)."""
    s = services()
    token = bearer_token()
    assert token is not None  # @bearer_present
    before = s.cursors.decode("feed", query_args.cursor)
    token_hash_hex = hash_token(token).hex()
    page = await s.feed.page_for(token_hash_hex, before=before, limit=query_args.limit)
    if page is None:
        signed = await s.accounts.session_sign_in(token)
        if signed is None:
            raise invalid_token()
        page = await s.feed.page(signed.user.user_id, before=before, limit=query_args.limit,
                                 token_hash_hex=token_hash_hex)
    posts = await s.reader.views_json(page.posts, page.authors, page.like_counts, page.liked,
                                      page.private)
    cursor = orjson.dumps(s.cursors.encode("feed", page.next_position))
    return Response(b'{"posts":[%s],"next_cursor":%s}' % (b",".join(posts), cursor),
                    content_type="application/json")


@bp.post("/api/posts/<post_id>/like")
@signed_in
@rate_limited("likes")
@document_response(LikeOut)
@errors(401, 404, 503)
async def like(post_id: str) -> dict[str, Any]:
    """Like a post."""
    state = await services().likes.like(await require_viewer(), parse_post_id(post_id))
    return {"liked": state.liked, "like_count": state.like_count}


@bp.delete("/api/posts/<post_id>/like")
@signed_in
@rate_limited("likes")
@document_response(LikeOut)
@errors(401, 404, 503)
async def unlike(post_id: str) -> dict[str, Any]:
    """Take back a like."""
    state = await services().likes.unlike(await require_viewer(), parse_post_id(post_id))
    return {"liked": state.liked, "like_count": state.like_count}


@bp.post("/api/posts/<post_id>/comments")
@signed_in
@rate_limited("comments")
@validate_request(CommentIn)
@document_response(CommentOut, 201)
@errors(400, 401, 404, 413, 422, 503)
async def create_comment(post_id: str, data: CommentIn) -> tuple[dict[str, Any], int]:
    """Comment on a post."""
    me = await require_viewer()
    comment = await services().comments.create(me, parse_post_id(post_id), data.text)
    return comment_view(comment, me), 201


@bp.get("/api/posts/<post_id>/comments")
@validate_querystring(ListQuery)
@document_response(CommentListOut)
@errors(400, 401, 404, 422, 503)
async def list_comments(post_id: str, query_args: ListQuery) -> dict[str, Any]:
    """A post's comments, oldest first."""
    s = services()
    after = s.cursors.decode("comments", query_args.cursor)
    page = await s.comments.page(await viewer(), parse_post_id(post_id), after=after,
                                 limit=query_args.limit)
    return {"comments": [comment_view(comment, author) for comment, author in page.comments],
            "next_cursor": s.cursors.encode("comments", page.next_position)}


@bp.delete("/api/comments/<comment_id>")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 403, 404, 503)
async def delete_comment(comment_id: str) -> tuple[str, int]:
    """Delete a comment: your own, or any on your post."""
    parsed = parse_id(comment_id)
    if parsed is None:
        raise not_found("comment")
    await services().comments.delete(await require_viewer(), parsed)
    return "", 204
