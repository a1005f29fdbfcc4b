"""The media origin: `GET /media/<key>` serves renditions the way a CDN wants them.

A private account's post media answers only under a signed URL (`?exp=&sig=`, made by
`MediaSigner`), privately cacheable until it expires; anything else for it is a 404, as if
it did not exist. Avatars and public posts' media keep their immutable public answers."""

from __future__ import annotations

import re
import time

from quart import Blueprint, Response, request

from pixtrio.edge.http_errors import HttpError
from pixtrio.edge.openapi import body, errors, extra, header, query
from pixtrio.edge.services import services
from pixtrio.features.errors import not_found
from pixtrio.features.ids import parse_id
from pixtrio.features.media.renditions import CONTENT_TYPES
from pixtrio.storage.blobs import check_key

bp = Blueprint("media", __name__)

IMMUTABLE = "public, max-age=31536000, immutable"
PLAYLIST = "public, max-age=60"
"""HLS playlists are the one thing a player re-reads: a short TTL lets an operator re-run a
video's ladder behind the same URL, while every segment and image stays immutable."""
MEDIA_TYPES = sorted(set(CONTENT_TYPES.values()))
RANGE = re.compile(r"bytes=([0-9]{0,19})-([0-9]{0,19})")
"""ASCII digits within 64 bits: `\\d` would take "٣", and `int` refuses 5,000 digits."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end-exclusive) for a single satisfiable `Range`; None to send everything.

    Raises a 416 `HttpError` for a range that starts past the end.
    """
    match = RANGE.fullmatch((header or "").strip())
    if not match or match.groups() == ("", ""):
        return None  # absent, multi-range or malformed: a full answer is always allowed
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), min(size, int(last) + 1) if last else size
    if start >= size or start >= end:
        raise HttpError(416, "range_not_satisfiable", f"the blob has {size} bytes",
                        {"Content-Range": f"bytes */{size}"})
    return start, end


def etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


async def private_cache_control(key: str) -> str | None:
    """None for public media; for a private post's media under a valid signed URL, the
    `Cache-Control` lasting until the URL expires. Raises `NotFound` for a private post's
    media without one, and for a post key of no post."""
    s = services()
    raw_id = s.media_keys.post_of(key)
    if raw_id is None:
        return None  # an avatar: public even for a private account
    post_id = parse_id(raw_id)
    private = await s.media_privacy.post_private(post_id) if post_id is not None else None
    if private is None:
        raise not_found("media")
    if not private:
        return None
    now = time.time()
    exp, sig = request.args.get("exp"), request.args.get("sig")
    if not s.media_signer.verify(s.media_keys.url(key), exp, sig, now):
        raise not_found("media")
    assert exp is not None  # verified
    return f"private, max-age={int(exp) - int(now)}"


async def signed_playlist(key: str, content_type: str, cache_control: str) -> Response:
    """A private video's HLS playlist, fetched under a valid signed URL, with the URIs it
    names signed until the same expiry (whole, without ETag or ranges: it changes with the
    expiry and is small)."""
    s = services()
    text = b"".join([chunk async for chunk in s.blobs.read(key)]).decode()
    body = s.media_signer.sign_playlist(text, s.media_keys.url(key), int(request.args["exp"]))
    headers = {"Cache-Control": cache_control, "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'"}
    return Response(body, 200, headers, content_type=content_type)


@bp.get("/media/<path:key>")
@errors(404, 416, 503)
@extra(
    responses={
        200: body("The file: an image, a video, an HLS playlist or segment.", *MEDIA_TYPES),
        206: body("The requested byte range of the file.", *MEDIA_TYPES),
        304: body("The file is unchanged since the ETag given in If-None-Match."),
    },
    parameters=(header("Range", "one range, `bytes=first-last`, `bytes=first-` or `bytes=-n`"),
                header("If-None-Match", "ETags held by the client"),
                query("exp", "a signed URL's expiry (unix seconds): private accounts' media"),
                query("sig", "a signed URL's signature: private accounts' media")),
)
async def media(key: str) -> Response:
    """Serve a rendition from the media origin, with ETag and byte ranges."""
    s = services()
    try:
        check_key(key)
    except ValueError:
        raise not_found("media") from None
    if not s.media_keys.servable(key):
        raise not_found("media")
    cache_control = await private_cache_control(key)
    info = await s.blobs.head(key)
    if info is None:
        raise not_found("media")
    if cache_control and key.endswith(".m3u8"):
        return await signed_playlist(key, info.content_type, cache_control)
    headers = {
        "ETag": info.etag,
        "Cache-Control": cache_control or (PLAYLIST if key.endswith(".m3u8") else IMMUTABLE),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'",
        "Accept-Ranges": "bytes",
    }
    if etag_matches(request.headers.get("If-None-Match"), info.etag):
        return Response(b"", 304, headers)
    span = byte_range(request.headers.get("Range"), info.size)
    start, end = span or (0, info.size)
    if span:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{info.size}"
    headers["Content-Length"] = str(end - start)
    body = s.blobs.read(key, start=start, end=end)
    return Response(body, 206 if span else 200, headers, content_type=info.content_type)
