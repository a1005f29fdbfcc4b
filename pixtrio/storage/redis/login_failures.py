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

MAX_ADDRESSES = 100
"""Addresses remembered per account, the most recent kept."""

_NOW = """
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
"""

ATTEMPT = _NOW + """
-- One more hit on a GCRA budget: its new state, or nil and the milliseconds to wait.
local function hit(key, count, period)
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + period / count
  local wait = new_tat - period - now
  if wait > 0 then return nil, math.ceil(wait) end
  return new_tat, 0
end

local address_tat, account_tat, wait
if tonumber(ARGV[1]) > 0 then
  address_tat, wait = hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
  if not address_tat then return {wait, 0} end
end
if tonumber(ARGV[3]) > 0 then
  account_tat, wait = hit(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
  if not account_tat then
    local seen = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[5]))
    if not seen or seen <= now - tonumber(ARGV[6]) then return {wait, 0} end
  end
end
if address_tat then
  redis.call('SET', KEYS[1], tostring(address_tat), 'PX', math.ceil(address_tat - now))
end
if account_tat then
  redis.call('SET', KEYS[2], tostring(account_tat), 'PX', math.ceil(account_tat - now))
  return {0, 1}
end
return {0, 0}
"""
"""KEYS: the (account, address) budget, the account's budget, its known addresses.
ARGV: address count (0: no limit), address period ms, account count (0: no limit),
account period ms, address, remember ms. Returns {wait ms (0: allowed), 1 if counted
on the account's budget}."""

SUCCEEDED = _NOW + """
redis.call('DEL', KEYS[1])
local refund = tonumber(ARGV[1])
local tat = refund > 0 and tonumber(redis.call('GET', KEYS[2]))
if tat then
  tat = tat - refund
  if tat > now then
    redis.call('SET', KEYS[2], tostring(tat), 'PX', math.ceil(tat - now))
  else
    redis.call('DEL', KEYS[2])
  end
end
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 0
"""
"""KEYS as ATTEMPT's. ARGV: ms to hand back to the account's budget (0: none), address,
remember ms, most addresses kept."""


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
