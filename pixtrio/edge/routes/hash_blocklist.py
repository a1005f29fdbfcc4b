"""Moderators' routes for the perceptual-hash blocklist: entries (from an image's bytes, a
bare PDQ hash or a post) and the uploads they refused."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request
from quart_schema import document_request, document_response, validate_querystring

from pixtrio.edge.auth import require_role, require_viewer
from pixtrio.edge.openapi import errors, no_content
from pixtrio.edge.ratelimits import rate_limited
from pixtrio.edge.routes.moderation import path_id
from pixtrio.edge.services import services
from pixtrio.features.errors import InvalidField, Malformed
from pixtrio.features.text import check_text
from pixtrio.features.views import rfc3339
from pixtrio.protocol.rest import (
    HashBlockIn,
    HashBlockListOut,
    HashBlockOut,
    HashMatchListOut,
    ListQuery,
)
from pixtrio.storage.types import HashBlock, HashMatch

bp = Blueprint("hash_blocklist", __name__)

MAX_FIELD = 1000


def block_view(block: HashBlock) -> dict[str, Any]:
    return {"block_id": str(block.block_id), "pdq": block.pdq, "source": block.source,
            "post_id": str(block.post_id) if block.post_id is not None else None,
            "note": block.note,
            "added_by": str(block.added_by) if block.added_by is not None else None,
            "created_at": rfc3339(block.created_at)}


def match_view(match: HashMatch) -> dict[str, Any]:
    return {"match_id": str(match.match_id), "block_id": str(match.block_id),
            "distance": match.distance, "user_id": str(match.user_id),
            "post_id": str(match.post_id) if match.post_id is not None else None,
            "created_at": rfc3339(match.created_at)}


@bp.post("/api/mod/hash-blocklist")
@require_role("moderator")
@rate_limited("moderation")
@document_request(HashBlockIn)
@document_response(HashBlockOut, 201)
@errors(400, 401, 403, 404, 413, 422, 503)
async def add_entry() -> tuple[dict[str, Any], int]:
    """Moderators: block an image (its raw bytes, any image type, up to 1 MiB; its
    rotations, mirrors and slight crops match too), a bare PDQ hash (`{pdq}`) or the photo
    of a post (`{post_id}`, also once the post is removed). Uploads within 31 bits of an
    entry fail with reason `blocked` from then on, on every process."""
    s, me = services(), await require_viewer()
    if not request.mimetype.startswith("application/json"):
        note = check_text("note", request.args.get("note", "")[:MAX_FIELD])
        image = await request.get_data(as_text=False)
        assert isinstance(image, bytes)
        block = await s.hash_blocklist.add_image(image, added_by=me.user_id, note=note)
    else:
        body = await request.get_json()
        if not isinstance(body, dict):
            raise Malformed("expected a JSON object", code="malformed_json")
        pdq, post_id, text = (_text(body, name) for name in ("pdq", "post_id", "note"))
        if (pdq is None) == (post_id is None):
            raise InvalidField("pdq", "send exactly one of pdq (64 hex digits) and post_id")
        note = check_text("note", text or "")
        if pdq is not None:
            block = await s.hash_blocklist.add_pdq(pdq, added_by=me.user_id, note=note)
        else:
            block = await s.hash_blocklist.add_from_post(path_id(post_id or "", "post"),
                                                         added_by=me.user_id, note=note)
    await s.audit.record(me, "hash.block", "hash", block.block_id, block.pdq)
    return block_view(block), 201


def _text(body: dict[str, Any], name: str) -> str | None:
    """The string field `name` of a JSON body (None if absent); `InvalidField` if it is not
    a string or longer than `MAX_FIELD`."""
    value = body.get(name)
    if value is not None and (not isinstance(value, str) or len(value) > MAX_FIELD):
        raise InvalidField(name, f"{name} must be a string of at most {MAX_FIELD} characters")
    return value


@bp.get("/api/mod/hash-blocklist")
@require_role("moderator")
@validate_querystring(ListQuery)
@document_response(HashBlockListOut)
@errors(400, 401, 403, 422, 503)
async def list_entries(query_args: ListQuery) -> dict[str, Any]:
    """Moderators: the blocklist, newest first."""
    s = services()
    page = await s.hash_blocklist.list(before=s.cursors.decode("hash_blocks", query_args.cursor),
                                       limit=query_args.limit)
    return {"entries": [block_view(b) for b in page.items],
            "next_cursor": s.cursors.encode("hash_blocks", page.next_position)}


@bp.delete("/api/mod/hash-blocklist/<block_id>")
@require_role("moderator")
@rate_limited("moderation")
@no_content
@errors(401, 403, 404, 503)
async def remove_entry(block_id: str) -> tuple[str, int]:
    """Moderators: remove an entry; uploads stop matching it on every process."""
    s, me = services(), await require_viewer()
    entry_id = path_id(block_id, "blocklist entry")
    await s.hash_blocklist.remove(entry_id)
    await s.audit.record(me, "hash.unblock", "hash", entry_id)
    return "", 204


@bp.get("/api/mod/hash-matches")
@require_role("moderator")
@validate_querystring(ListQuery)
@document_response(HashMatchListOut)
@errors(400, 401, 403, 422, 503)
async def list_matches(query_args: ListQuery) -> dict[str, Any]:
    """Moderators: uploads the blocklist refused, newest first."""
    s = services()
    page = await s.hash_blocklist.matches(
        before=s.cursors.decode("hash_matches", query_args.cursor), limit=query_args.limit)
    return {"matches": [match_view(m) for m in page.items],
            "next_cursor": s.cursors.encode("hash_matches", page.next_position)}
