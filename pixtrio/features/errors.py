"""The domain's error vocabulary: what went wrong, in the domain's words, never as a status.

Features raise these; the edge turns them into answers, once for HTTP
(`edge/http_errors.py`) and once for websocket `error` frames (`edge/ws_errors.py`), so a
rule broken over either transport reads the same. Each error carries API.md's stable error
`code` (its kind's default, or a more precise one such as `already_published`) and a message
for people.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixtrio.storage.redis.ratelimit import Quota


class DomainError(Exception):
    """Base of every error a client caused or must know about."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class Malformed(DomainError):
    """The request cannot be read at all (not JSON, an incomplete body, a forged cursor)."""

    code = "malformed_request"


class NotAuthenticated(DomainError):
    """No valid sign-in: missing, unknown or revoked token, or wrong credentials."""

    code = "not_authenticated"


class Forbidden(DomainError):
    """Signed in, but this account may not do this."""

    code = "forbidden"


class NotFound(DomainError):
    """No such thing — or one the viewer may not know exists."""

    code = "not_found"


class Conflict(DomainError):
    """The request contradicts the current state (already published, name taken)."""

    code = "conflict"


class InvalidField(DomainError):
    """A field's value breaks a rule; the message starts with the field's name."""

    code = "invalid_field"

    def __init__(self, field: str, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}", code=code)
        self.field = field


class TooLarge(DomainError):
    """A body or file larger than allowed."""

    code = "too_large"


class Unsupported(DomainError):
    """A media type the server does not take, declared or sniffed."""

    code = "unsupported_media_type"


class RateLimited(DomainError):
    """Over a rate-limit rule; `retry_after_s` says when to try again (at least 1 s), and
    `quota`, when a request budget (not a failure count) was spent, what it was."""

    code = "rate_limited"

    def __init__(self, wait_ms: int, quota: Quota | None = None) -> None:
        self.retry_after_s = max(1, math.ceil(wait_ms / 1000))
        self.quota = quota
        super().__init__(f"too many requests; retry in {self.retry_after_s}s")


class Unavailable(DomainError):
    """A backing store is not answering; the same request may succeed shortly."""

    code = "unavailable"
    retry_after_s = 1


def not_found(what: str) -> NotFound:
    """`NotFound` saying which kind of thing is missing."""
    return NotFound(f"{what} not found")
