"""The raw-body routes: the PUT of a signed upload URL and the avatar PUT.

They take their bodies chunk by chunk from the streaming body layer (edge/streaming.py),
never from Quart, so a 25 MB upload is never held in memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pixtrio.edge.auth import invalid_token, not_authenticated, parse_bearer
from pixtrio.edge.ratelimits import quota_headers
from pixtrio.edge.services import Services
from pixtrio.features.errors import Forbidden, TooLarge
from pixtrio.features.ratelimit import account_subject
from pixtrio.features.views import user_view
from pixtrio.storage.types import User

if TYPE_CHECKING:
    from pixtrio.edge.streaming import Body, Scope


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of header `name` (lower case), or None."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def declared_length(scope: Scope) -> int | None:
    length = header(scope, b"content-length")
    return int(length) if length and length.isascii() and length.isdigit() else None


async def bearer_user(services: Services, scope: Scope) -> User | None:
    """The user of the request's bearer token; None without one. Raises for a bad one."""
    token = parse_bearer(header(scope, b"authorization"))
    if token is None:
        return None
    user = await services.accounts.authenticate(token)
    if user is None:
        raise invalid_token()
    return user


async def put_upload(
    services: Services, scope: Scope, body: Body, token: str
) -> tuple[int, Any, dict[str, str]]:
    """`PUT /upload/<token>`: stream the original into the store; 201 once it is durable."""
    uploads = services.uploads
    grant = uploads.verify(token)
    signed_in = await bearer_user(services, scope)
    if signed_in is not None and signed_in.user_id != grant.user_id:
        raise Forbidden("this upload URL belongs to another account")
    received = await uploads.receive(
        grant, body.chunks(), content_type=header(scope, b"content-type"),
        content_length=declared_length(scope),
    )
    return 201, {"post_id": str(received.post_id), "received_bytes": received.received_bytes,
                 "sha256": received.sha256}, {}


async def put_avatar(
    services: Services, scope: Scope, body: Body, _: str
) -> tuple[int, Any, dict[str, str]]:
    """`PUT /api/me/avatar`: replace the signed-in user's picture; 200 with the profile.
    Spends a hit of the `uploads` rule (see `edge.ratelimits`)."""
    user = await bearer_user(services, scope)
    if user is None:
        raise not_authenticated()
    quota = await services.limits.check("uploads", account_subject(user.user_id))
    length = declared_length(scope)
    if length is not None and length > services.avatars.max_bytes:
        raise TooLarge(f"the body is longer than {services.avatars.max_bytes} bytes")
    updated = await services.avatars.replace(user, body.chunks())
    return 200, user_view(updated, with_email=True), quota_headers(quota) if quota else {}
