"""Named rate-limit rules, their defaults, the `PIXTRIO_RATE_LIMITS` syntax, and enforcement.

`PIXTRIO_RATE_LIMITS` is a comma-separated list of `rule=COUNT/PERIOD` (PERIOD is a number
with s, m, h or d) or `rule=off`; rules it does not name keep their defaults. Example:
`login_ip=500/5m,register_ip=off`.

The `login_failures_*` rules count failed sign-ins only; `storage.redis.login_failures`
enforces them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pixtrio.features.errors import RateLimited
from pixtrio.storage.redis.login_failures import Budget
from pixtrio.storage.redis.ratelimit import GcraLimiter


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
}

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


class RateLimiter:
    """Applies the configured rules; raises `RateLimited` when over."""

    def __init__(self, limiter: GcraLimiter, limits: Mapping[str, Limit | None]) -> None:
        self._limiter = limiter
        self._limits = limits

    async def check(self, rule: str, subject: str) -> None:
        limit = self._limits[rule]
        if limit is None:
            return
        wait_ms = await self._limiter.hit(
            rule, subject, limit=limit.count, period_ms=int(limit.period_s * 1000)
        )
        if wait_ms > 0:
            raise RateLimited(wait_ms)
