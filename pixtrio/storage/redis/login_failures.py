"""Failed sign-ins, counted per (account, client address) and per account, and the
addresses each account recently signed in from.

Both counts are GCRA budgets (as in `ratelimit`). An attempt is counted before its
password is checked, so parallel guesses cannot outrun the count, and a right password
hands its count back: only failures stay counted. Once the account's budget is spent,
only addresses it signed in from within `remember_ms` still get attempts, so strangers
failing on purpose cannot lock its owner out. An account's keys share one hash tag, so
each script touches one slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import coredis

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors
from pixtrio.storage.redis.scripts import source

MAX_ADDRESSES = 100
"""Addresses remembered per account, the most recent kept."""

ATTEMPT = source("clock.part", "login_attempt")
SUCCEEDED = source("clock.part", "login_succeeded")


@dataclass(frozen=True)
class Budget:
    """`count` failures per `period_ms`, then one per `period_ms / count`."""

    count: int
    period_ms: int


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt as counted: refused while `wait_ms` > 0."""

    account: str
    address: str
    wait_ms: int
    on_account: bool
    """Counted on the account's budget (not when only a known address let it through)."""


class LoginFailures:
    """Counts failed sign-ins in Redis. `account` names whose failures they are (one
    account however it was named), `address` where they come from."""

    def __init__(self, client: coredis.Redis[str], *, per_address: Budget | None,
                 per_account: Budget | None, remember_ms: int) -> None:
        self._per_address = per_address
        self._per_account = per_account
        self._remember_ms = remember_ms
        self._attempt = client.register_script(ATTEMPT)
        self._succeeded = client.register_script(SUCCEEDED)

    async def attempt(self, account: str, address: str) -> Attempt:
        """Count an attempt as failed unless a budget refuses it (a refused one is not
        counted): the address's, or, from an address not known, the account's."""
        by_address, by_account = self._per_address, self._per_account
        with redis_errors():
            answer: Any = await self._attempt(keys=self._keys(account, address), args=[
                by_address.count if by_address else 0, by_address.period_ms if by_address else 0,
                by_account.count if by_account else 0, by_account.period_ms if by_account else 0,
                address, self._remember_ms,
            ])
        return Attempt(account, address, int(answer[0]), bool(answer[1]))

    async def succeeded(self, attempt: Attempt) -> None:
        """The attempt's password was right: clear its address's failures, hand its count
        back to the account and remember the address."""
        refund = 0.0
        if attempt.on_account and self._per_account:
            refund = self._per_account.period_ms / self._per_account.count
        with redis_errors():
            await self._succeeded(keys=self._keys(attempt.account, attempt.address),
                                  args=[refund, attempt.address, self._remember_ms, MAX_ADDRESSES])

    @staticmethod
    def _keys(account: str, address: str) -> list[str]:
        return [keys.login_failures_from(account, address), keys.login_failures(account),
                keys.sign_in_addresses(account)]
