"""Signed upload URLs and receiving uploads: nothing acknowledged is ever lost.

An upload URL is a sealed grant (user, post id, content type, size, expiry), like an S3
presigned URL: it alone authorises one PUT. The body is streamed to a staging file while
its size is enforced and it is hashed, its magic bytes are checked, and it is stored
durably (fsync of file and directory) before the 201 goes out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import trio

from pixtrio.features.errors import Conflict, Forbidden, Malformed, TooLarge, Unsupported
from pixtrio.features.ids import IdGenerator
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.posts.staging import stage_body
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.redis.upload_claims import UploadClaims
from pixtrio.storage.types import PostKind

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "image/gif"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
UPLOAD_TYPES = PHOTO_TYPES | VIDEO_TYPES
SAME_FAMILY = (frozenset({"image/heic", "image/heif"}), frozenset({"video/mp4", "video/quicktime"}))
"""Types one container format shares: clients name them loosely, so either will do."""
UPLOAD_URL_TTL_S = 15 * 60
CLEANUP_SECONDS = 5.0
"""Seconds a failed upload may spend removing its staged file and claim (shielded)."""


@dataclass(frozen=True)
class UploadGrant:
    user_id: int
    post_id: int
    content_type: str
    size: int
    expires_ms: int


@dataclass(frozen=True)
class Received:
    post_id: int
    received_bytes: int
    sha256: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def bare_type(value: str | None) -> str:
    """A MIME type without parameters, lowercase: "image/JPEG; q=1" -> "image/jpeg"."""
    return (value or "").split(";")[0].strip().lower()


def same_type(declared: str, actual: str) -> bool:
    return declared == actual or any({declared, actual} <= family for family in SAME_FAMILY)


def post_kind(content_type: str) -> PostKind:
    """"video" for the video types, else "photo"."""
    return "video" if bare_type(content_type) in VIDEO_TYPES else "photo"


class UploadService:
    def __init__(
        self,
        secret: bytes,
        ids: IdGenerator,
        blobs: BlobStore,
        claims: UploadClaims,
        media_keys: MediaKeys,
        *,
        max_bytes: int,
        max_video_bytes: int,
    ) -> None:
        self._key = hashlib.sha256(b"pixtrio upload\x00" + secret).digest()
        self._ids = ids
        self._blobs = blobs
        self._claims = claims
        self._keys = media_keys
        self.max_bytes = max_bytes
        self.max_video_bytes = max_video_bytes

    def _seal(self, payload: bytes) -> str:
        return _b64(hmac.digest(self._key, payload, "sha256"))

    def issue(self, user_id: int, content_type: str, size: int) -> tuple[UploadGrant, str]:
        """A grant for a new post and its URL path. Raises `Unsupported` (type) or
        `TooLarge` (size)."""
        content_type = bare_type(content_type)
        if content_type not in UPLOAD_TYPES:
            raise Unsupported(f"content_type must be one of {', '.join(sorted(UPLOAD_TYPES))}")
        limit = self.max_video_bytes if content_type in VIDEO_TYPES else self.max_bytes
        if size > limit:
            raise TooLarge(f"size: at most {limit} bytes for {content_type}")
        grant = UploadGrant(user_id, self._ids.next_id(), content_type, size,
                            int((time.time() + UPLOAD_URL_TTL_S) * 1000))
        payload = json.dumps([grant.user_id, grant.post_id, grant.content_type, grant.size,
                              grant.expires_ms], separators=(",", ":")).encode()
        return grant, f"/upload/{_b64(payload)}.{self._seal(payload)}"

    def verify(self, token: str) -> UploadGrant:
        """The grant sealed in `token`. Raises `Forbidden` when forged or expired."""
        body, _, tag = token.partition(".")
        try:
            payload = _unb64(body)
            fields = json.loads(payload) if hmac.compare_digest(tag, self._seal(payload)) else None
            grant = UploadGrant(*fields) if isinstance(fields, list) and len(fields) == 5 else None
        except (binascii.Error, ValueError, TypeError):
            grant = None
        if grant is None:
            raise Forbidden("this upload URL is not valid", code="invalid_upload_url")
        if grant.expires_ms < time.time() * 1000:
            raise Forbidden("this upload URL has expired; ask for a new one", code="upload_url_expired")
        return grant

    async def receive(
        self,
        grant: UploadGrant,
        chunks: AsyncIterator[bytes],
        *,
        content_type: str | None,
        content_length: int | None,
    ) -> Received:
        """Stream an upload into the originals store; returns once it is durable.

        Raises `Unsupported` (type), `TooLarge` (longer than declared), `Malformed`
        (shorter), `Conflict` (URL already used), `StorageError` when Redis does not
        answer. On any failure or cancellation nothing is stored and the URL may be used
        again; the cleanup gets `CLEANUP_SECONDS`.
        """
        if bare_type(content_type) != grant.content_type:
            raise Unsupported(f"Content-Type must be {grant.content_type}, as declared")
        if content_length is not None and content_length > grant.size:
            raise TooLarge(f"the body is longer than the declared {grant.size} bytes")
        ttl_ms = max(1, grant.expires_ms - int(time.time() * 1000))
        if not await self._claims.claim(grant.post_id, ttl_ms=ttl_ms):
            raise Conflict("this upload URL has already been used", code="upload_url_used")
        staged = self._blobs.staging_dir() / f"upload-{grant.post_id}-{os.getpid()}"
        try:
            body = await stage_body(chunks, staged, max_bytes=grant.size)
            if body.received < grant.size:
                raise Malformed(f"received {body.received} of the declared {grant.size} bytes", code="incomplete_upload")
            if body.sniffed_type is None:
                raise Unsupported("the bytes are not a JPEG, PNG, WebP, HEIC/HEIF or GIF image,"
                               " nor an MP4, MOV or WebM video")
            if not same_type(grant.content_type, body.sniffed_type):
                raise Unsupported(f"the bytes are {body.sniffed_type}, not the declared {grant.content_type}")
            await self._blobs.put_file(
                self._keys.original(grant.post_id), staged, content_type=grant.content_type,
                metadata={"user_id": str(grant.user_id), "sha256": body.sha256,
                          "size": str(body.received)},
            )
            await self._claims.mark_used(grant.post_id, ttl_ms=ttl_ms)
        except BaseException:
            # bounded: a hung disk or Redis must not hold up shutdown; what is left behind
            # is a staged file and a claim that expires with the URL
            with trio.move_on_after(CLEANUP_SECONDS, shield=True):
                await trio.to_thread.run_sync(lambda: staged.unlink(missing_ok=True),
                                              abandon_on_cancel=True)
                await self._claims.release(grant.post_id)
            raise
        return Received(grant.post_id, body.received, body.sha256)
