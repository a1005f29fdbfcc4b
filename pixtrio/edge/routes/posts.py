"""Routes for posts: upload URLs, publishing, reading, deleting, an author's posts and a
hashtag's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quart import Blueprint
from quart_schema import document_response, validate_querystring, validate_request

from pixtrio.edge.auth import require_viewer, signed_in, viewer
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.ratelimits import rate_limited
from pixtrio.edge.services import services
from pixtrio.features.errors import not_found
from pixtrio.features.ids import parse_id
from pixtrio.features.views import rfc3339
from pixtrio.protocol.rest import (
    ListQuery,
    PostListOut,
    PostOut,
    PublishIn,
    UploadUrlIn,
    UploadUrlOut,
)
from pixtrio.storage.types import Post, User

bp = Blueprint("posts", __name__)


def parse_post_id(raw: str) -> int:
    """The post id in a path; a 404 if `raw` is no id (`parse_id`)."""
    post_id = parse_id(raw)
    if post_id is None:
        raise not_found("post")
    return post_id


async def post_views(posts: list[Post], authors: dict[int, User] | None = None) -> list[dict[str, Any]]:
    """API.md's `post` for each post, as the current viewer sees it (batched)."""
    return await services().reader.views(await viewer(), posts, authors)


@bp.post("/api/posts/upload-url")
@signed_in
@rate_limited("uploads")
@validate_request(UploadUrlIn)
@document_response(UploadUrlOut, 201)
@errors(400, 401, 413, 415, 422, 503)
async def upload_url(data: UploadUrlIn) -> tuple[dict[str, Any], int]:
    """Reserve a new post and get a single-use URL to PUT its photo or video to."""
    me = await require_viewer()
    grant, url = services().uploads.issue(me.user_id, data.content_type, data.size)
    expires = datetime.fromtimestamp(grant.expires_ms / 1000, UTC)
    return {"post_id": str(grant.post_id), "upload_url": url, "expires_at": rfc3339(expires)}, 201


@bp.post("/api/posts/<post_id>/publish")
@signed_in
@rate_limited("posts")
@validate_request(PublishIn)
@document_response(PostOut, 202)
@errors(400, 401, 404, 409, 413, 422, 503)
async def publish(post_id: str, data: PublishIn) -> tuple[dict[str, Any], int]:
    """Publish an uploaded post with its caption; it is processed, then ready."""
    me = await require_viewer()
    post = await services().posts.publish(
        me, parse_post_id(post_id), caption=data.caption or "", location=data.location or "",
        alt_text=data.alt_text or "",
    )
    return (await post_views([post], {me.user_id: me}))[0], 202


@bp.get("/api/posts/<post_id>")
@document_response(PostOut)
@errors(401, 404, 503)
async def get_post(post_id: str) -> dict[str, Any]:
    """A post."""
    post = await services().posts.get(await viewer(), parse_post_id(post_id))
    views = await post_views([post])
    if not views:
        raise not_found("post")
    return views[0]


@bp.delete("/api/posts/<post_id>")
@signed_in
@rate_limited("writes")
@no_content
@errors(401, 403, 404, 503)
async def delete_post(post_id: str) -> tuple[str, int]:
    """Delete one of your posts."""
    await services().posts.delete(await require_viewer(), parse_post_id(post_id))
    return "", 204


@bp.get("/api/users/<username>/posts")
@validate_querystring(ListQuery)
@document_response(PostListOut)
@errors(400, 401, 404, 422, 503)
async def user_posts(username: str, query_args: ListQuery) -> dict[str, Any]:
    """A user's posts, newest first."""
    s = services()
    author = await s.graph.find(username)
    before = s.cursors.decode("posts", query_args.cursor)
    page = await s.posts.by_author(await viewer(), author, before=before, limit=query_args.limit)
    return {
        "posts": await post_views(page.items, {author.user_id: author}),
        "next_cursor": s.cursors.encode("posts", page.next_position),
    }


@bp.get("/api/tags/<tag>/posts")
@validate_querystring(ListQuery)
@document_response(PostListOut)
@errors(400, 401, 404, 422, 503)
async def tag_posts(tag: str, query_args: ListQuery) -> dict[str, Any]:
    """Ready posts with a hashtag (in any case), newest first."""
    s = services()
    before = s.cursors.decode("tagged", query_args.cursor)
    page = await s.posts.with_hashtag(await viewer(), tag, before=before,
                                      limit=query_args.limit)
    return {
        "posts": await post_views(page.items),
        "next_cursor": s.cursors.encode("tagged", page.next_position),
    }
