"""Named rate-limit rules, their defaults, the `PIXTRIO_RATE_LIMITS` syntax, and enforcement.

`PIXTRIO_RATE_LIMITS` is a comma-separated list of `rule=COUNT/PERIOD` (PERIOD is a number
with s, m, h or d) or `rule=off`; rules it does not name keep their defaults. Example:
`login_ip=500/5m,register_ip=off`.

Every write request spends one hit of one rule: the `*_ip` rules per client address (an
IPv4 address or an IPv6 /64), the others per signed-in account. A route applies its rule
with `edge.ratelimits.rate_limited(rule)`. The `login_failures_*` rules count failed
sign-ins only; `storage.redis.login_failures` enforces them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pixtrio.features.errors import RateLimited
from pixtrio.storage.redis.login_failures import Budget
from pixtrio.storage.redis.ratelimit import GcraLimiter, Quota


@dataclass(frozen=True)
class Limit:
    count: int
    period_s: float

    def __str__(self) -> str:
        return f"{self.count}/{self.period_s:g}s"


DEFAULT_LIMITS: dict[str, Limit | None] = {
    "register_ip": Limit(100, 3600),
    "login_ip": Limit(200, 300),
    "login_failures_address": Limit(5, 900),
    "login_failures_account": Limit(100, 3600),
    "posts": Limit(50, 3600),
    "comments": Limit(60, 3600),
    "likes": Limit(300, 3600),
    "follows": Limit(200, 86400),
    "reports": Limit(20, 3600),
    "uploads": Limit(30, 1800),
    "writes": Limit(100, 3600),
    "password_checks": Limit(10, 3600),
    "moderation": Limit(1000, 3600),
}
"""At least as strict as Mastodon's and Pixelfed's. `posts` counts publishing, `likes` liking
and unliking, `follows` following, unfollowing and answering follow requests, `uploads` upload
URLs and avatars; `password_checks` the signed-in routes that ask for the password again
(changing it, deleting the account); `moderation` moderators' and admins' actions; `writes` every other write (profile edits, deletes,
signing out)."""

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RULE = re.compile(r"^\s*([a-z_]+)\s*=\s*(?:(off)|(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([smhd]))\s*$")


def parse_limits(text: str) -> dict[str, Limit | None]:
    """The defaults with `text`'s rules applied; raises ValueError naming a bad rule."""
    limits = dict(DEFAULT_LIMITS)
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = _RULE.match(part)
        if not match:
            raise ValueError(f"cannot read {part!r}; expected rule=COUNT/PERIOD or rule=off")
        name, off, count, amount, unit = match.groups()
        if name not in DEFAULT_LIMITS:
            raise ValueError(f"unknown rule {name!r}; known: {', '.join(sorted(DEFAULT_LIMITS))}")
        if off:
            limits[name] = None
            continue
        period = float(amount or 1) * _UNITS[unit]
        if int(count) < 1 or period <= 0:
            raise ValueError(f"{part!r}: count and period must be positive")
        limits[name] = Limit(int(count), period)
    return limits


def budget(limit: Limit | None) -> Budget | None:
    """A rule as `login_failures` takes it (None: no limit)."""
    return Budget(limit.count, int(limit.period_s * 1000)) if limit else None


def client_network(ip: str) -> str:
    """Where a client's requests are counted as coming from: its IPv4 address (an
    IPv4-mapped IPv6 one alike), or its IPv6 /64 (a single subscriber usually holds a
    whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def per_address(rule: str) -> bool:
    """Whether `rule` counts per client address (the `*_ip` rules) rather than per account."""
    return rule.endswith("_ip")


def address_subject(ip: str) -> str:
    return f"a:{client_network(ip)}"


def account_subject(user_id: int) -> str:
    return f"u:{user_id}"


class RateLimiter:
    """Applies the configured rules; raises `RateLimited` when over."""

    def __init__(self, limiter: GcraLimiter, limits: Mapping[str, Limit | None]) -> None:
        self._limiter = limiter
        self._limits = limits

    async def check(self, rule: str, subject: str) -> Quota | None:
        """Spend one hit of `subject` (`address_subject` or `account_subject`) under
        `rule`: the budget left, or None if the rule is off. Raises `RateLimited`, carrying
        the quota, when over (the refused hit is not counted)."""
        limit = self._limits[rule]
        if limit is None:
            return None
        quota = await self._limiter.hit(
            rule, subject, limit=limit.count, period_ms=int(limit.period_s * 1000)
        )
        if quota.wait_ms > 0:
            raise RateLimited(quota.wait_ms, quota)
        return quota
