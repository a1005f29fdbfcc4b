"""Blob keys and public URLs for media: made by the server, never taken from clients.

Variant keys carry a tag derived from the signing secret, so knowing a post id (ids are
time-ordered, hence guessable) is not enough to fetch a post's images before it is ready.
The same post always gets the same keys, so reprocessing a post rewrites the same files.
"""

from __future__ import annotations

import hashlib
import hmac

SERVABLE_PREFIXES = ("p/", "a/")  # post variants and avatars; originals ("o/") never


class MediaKeys:
    def __init__(self, secret: bytes, *, url_prefix: str = "/media") -> None:
        self._key = hashlib.sha256(b"pixtrio media\x00" + secret).digest()
        self._url_prefix = url_prefix.rstrip("/")

    def _tag(self, what: str) -> str:
        return hmac.digest(self._key, what.encode(), "sha256").hex()[:16]

    @staticmethod
    def original(post_id: int) -> str:
        return f"o/{post_id}"

    @staticmethod
    def post_root(post_id: int) -> str:
        """The prefix holding every rendition of a post."""
        return f"p/{post_id}"

    def post_file(self, post_id: int, name: str) -> str:
        return f"p/{post_id}/{self._tag(f'post:{post_id}')}/{name}"

    @staticmethod
    def avatar_root(user_id: int) -> str:
        """The prefix holding every avatar of a user."""
        return f"a/{user_id}"

    def avatar_file(self, user_id: int, version: int, name: str) -> str:
        return f"a/{user_id}/{version}-{self._tag(f'avatar:{user_id}:{version}')}/{name}"

    def url(self, key: str) -> str:
        return f"{self._url_prefix}/{key}"

    def key_of(self, url: str) -> str | None:
        """The key behind a URL made by `url`, or None."""
        prefix = self._url_prefix + "/"
        return url[len(prefix):] if url.startswith(prefix) else None

    @staticmethod
    def post_of(key: str) -> str | None:
        """The post id part of a post rendition's key (unchecked text), or None."""
        parts = key.split("/", 2)
        return parts[1] if parts[0] == "p" and len(parts) == 3 else None

    @staticmethod
    def servable(key: str) -> bool:
        return key.startswith(SERVABLE_PREFIXES)
