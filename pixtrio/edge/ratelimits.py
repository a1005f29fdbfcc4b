"""Rate limits at the edge: `@rate_limited(rule)` on a write route, and the `X-RateLimit-*`
headers of every answer that spent a hit.

`X-RateLimit-Limit` is the rule's count, `X-RateLimit-Remaining` the hits still allowed
now, and `X-RateLimit-Reset` the Unix time (seconds) at which the whole budget is back, as
GitHub and Laravel (Pixelfed) send it. A refused request is a 429 with these and
`Retry-After`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from quart import Response, g

from pixtrio.edge.auth import require_viewer
from pixtrio.edge.client_address import client_address
from pixtrio.edge.openapi import errors
from pixtrio.edge.services import services
from pixtrio.features.ratelimit import account_subject, address_subject, per_address
from pixtrio.storage.redis.ratelimit import Quota

P = ParamSpec("P")
R = TypeVar("R")


def quota_headers(quota: Quota) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(quota.limit),
        "X-RateLimit-Remaining": str(quota.remaining),
        "X-RateLimit-Reset": str(math.ceil(time.time() + quota.reset_ms / 1000)),
    }


async def subject_of(rule: str) -> str:
    """Whom the current request counts against under `rule`: its client address for the
    `*_ip` rules, else its signed-in account (raises `NotAuthenticated` without one)."""
    if per_address(rule):
        return address_subject(client_address())
    return account_subject((await require_viewer()).user_id)


def rate_limited(rule: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Spend one hit of `rule` before the route runs (a 429 when over, documented in
    OpenAPI). Put it under `@signed_in` so a request without a sign-in is a 401 first."""

    def decorator(route: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @wraps(route)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            g.quota = await services().limits.check(rule, await subject_of(rule))
            return await route(*args, **kwargs)

        return errors(429)(wrapper)

    return decorator


async def add_quota_headers(response: Response) -> Response:
    """After every request: the `X-RateLimit-*` headers of the hit it spent, if any (a
    refused one has them from its error answer)."""
    quota: Quota | None = g.get("quota")
    if quota is not None:
        response.headers.update(quota_headers(quota))
    return response
