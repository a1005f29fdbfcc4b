"""Opaque list cursors: a position sealed with the server's secret so clients cannot forge one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

from pixtrio.features.errors import Malformed

TAG_BYTES = 8


class Cursors:
    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"pixtrio cursor\x00" + secret).digest()

    def _tag(self, kind: str, body: bytes) -> bytes:
        return hmac.digest(self._key, kind.encode() + b"\x00" + body, "sha256")[:TAG_BYTES]

    def encode(self, kind: str, position: int | None) -> str | None:
        """The cursor for `position` in a list of `kind`, or None for the end of the list."""
        if position is None:
            return None
        body = struct.pack(">q", position)
        return base64.urlsafe_b64encode(body + self._tag(kind, body)).rstrip(b"=").decode()

    def decode(self, kind: str, cursor: str | None) -> int | None:
        """The position in `cursor`; None for no cursor. Raises `Malformed` if invalid."""
        if not cursor:
            return None
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raw = b""
        body, tag = raw[:-TAG_BYTES], raw[-TAG_BYTES:]
        if len(body) != 8 or not hmac.compare_digest(tag, self._tag(kind, body)):
            raise Malformed("cursor is not valid for this list", code="invalid_cursor")
        return int(struct.unpack(">q", body)[0])
