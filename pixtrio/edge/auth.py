"""Bearer-token authentication for routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from quart import g, request
from quart_schema import security_scheme

from pixtrio.edge.services import services
from pixtrio.features.errors import Forbidden, NotAuthenticated
from pixtrio.features.moderation.roles import at_least
from pixtrio.storage.types import Role, User

P = ParamSpec("P")
R = TypeVar("R")


def not_authenticated() -> NotAuthenticated:
    return NotAuthenticated("sign in: send Authorization: Bearer <token>")


def invalid_token() -> NotAuthenticated:
    return NotAuthenticated("the token is unknown or revoked", code="invalid_token")


def parse_bearer(value: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` value, or None."""
    scheme, _, token = (value or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def bearer_token() -> str | None:
    return parse_bearer(request.headers.get("Authorization"))


async def viewer() -> User | None:
    """The signed-in user of this request, or None. A bad token is a 401, not anonymous."""
    if "viewer" not in g:
        token = bearer_token()
        g.viewer = None
        if token is not None:
            g.viewer = await services().accounts.authenticate(token)
            if g.viewer is None:
                raise invalid_token()
    return g.viewer


async def require_viewer() -> User:
    user = await viewer()
    if user is None:
        raise not_authenticated()
    return user


def signed_in(route: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Require a valid bearer token before `route` runs (and document that in OpenAPI)."""

    @wraps(route)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        await require_viewer()
        return await route(*args, **kwargs)

    secured: Any = security_scheme([{"bearer": []}])
    return secured(wrapper)


def require_role(role: Role) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Like `signed_in`, and answer 403 `forbidden` to a user whose role is below `role`."""

    def decorator(route: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(route)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not at_least(await require_viewer(), role):
                raise Forbidden(f"only a {role} may do this")
            return await route(*args, **kwargs)

        secured: Any = security_scheme([{"bearer": []}])
        return secured(wrapper)

    return decorator


def bearer_present(route: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Require a bearer token before `route` runs, which checks it itself (the feed signs
    in within its first Redis round trip); documented in OpenAPI like `signed_in`."""

    @wraps(route)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if bearer_token() is None:
            raise not_authenticated()
        return await route(*args, **kwargs)

    secured: Any = security_scheme([{"bearer": []}])
    return secured(wrapper)
