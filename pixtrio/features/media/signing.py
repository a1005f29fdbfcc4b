"""Signed, expiring media URLs: how a private account's media is linked and checked.

A URL is signed over its path and its expiry with HMAC-SHA256 under a key derived from the
server's secret for this purpose alone. The signature names no viewer: whoever was shown
it passed the visibility rule when the post was read, and it works until it expires.
Expiries are rounded up to a bucket, so a post keeps the same URL for a while (browsers
and CDNs can cache it) and a rendered view can be kept until its bucket turns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import posixpath
import re

BUCKET_S = 600
"""Expiries are rounded up to the next multiple of this many seconds."""

_EXP = re.compile(r"[0-9]{1,12}")


class MediaSigner:
    def __init__(self, secret: bytes, *, ttl_s: int) -> None:
        self._key = hashlib.sha256(b"pixtrio media url\x00" + secret).digest()
        self._ttl_s = ttl_s

    def expiry(self, now: float) -> int:
        """The expiry of URLs signed at `now` (unix seconds): at least `ttl_s` away, rounded
        up to the next `BUCKET_S`."""
        return math.ceil((now + self._ttl_s) / BUCKET_S) * BUCKET_S

    def signature(self, path: str, exp: int) -> str:
        mac = hmac.digest(self._key, f"{path}\n{exp}".encode(), "sha256")
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def sign(self, path: str, now: float) -> str:
        """`path` (a media URL path) with `?exp=&sig=` valid until `expiry(now)`."""
        return self.sign_until(path, self.expiry(now))

    def sign_until(self, path: str, exp: int) -> str:
        return f"{path}?exp={exp}&sig={self.signature(path, exp)}"

    def verify(self, path: str, exp: str | None, sig: str | None, now: float) -> bool:
        """Whether `sig` signs `path` until `exp` (ASCII digits) and `exp` is still ahead of
        `now`; compared in constant time."""
        if exp is None or sig is None or not _EXP.fullmatch(exp) or int(exp) <= now:
            return False
        return hmac.compare_digest(sig.encode(errors="replace"), self.signature(path, int(exp)).encode())

    def sign_playlist(self, text: str, path: str, exp: int) -> str:
        """The HLS playlist `text` served at `path`, each relative URI in it (rungs,
        segments) signed until `exp`: a player resolves them against the playlist's path
        and drops its query, so each needs a signature of its own."""
        folder = path.rsplit("/", 1)[0]
        lines = []
        for line in text.splitlines():
            uri = line.strip()
            if uri and not uri.startswith(("#", "/")) and "://" not in uri:
                target = posixpath.normpath(f"{folder}/{uri}")
                line = f"{uri}?exp={exp}&sig={self.signature(target, exp)}"
            lines.append(line)
        return "\n".join(lines) + "\n"
