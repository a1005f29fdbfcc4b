"""The id generator's worker field, leased from Redis: one key per field, held by one
process while it renews it.

A field is taken with `SET NX` and an expiry, renewed every third of that expiry by a
script that extends it only for its holder, and deleted (by its holder only) on a clean exit.
The holder counts its lease from just before each request was sent, so it stops using a
field before Redis lets the key expire. If Redis lost its data (FLUSHALL, a restart without
persistence), the next renewal re-takes the same field when it is still free, and drops it
at once, for another free one, when a newcomer took it meanwhile: until that renewal (at
most a third of the expiry) the two may share it, which a random first choice among the
fields keeps unlikely.
"""

from __future__ import annotations

import logging
import math
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import coredis
import trio
from coredis import PureToken

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors

log = logging.getLogger("pixtrio.storage")

TTL_SECONDS = 30.0
"""How long a field stays leased without renewal; it is renewed every third of that."""
RELEASE_SECONDS = 2.0
"""Seconds the release at exit may take (shielded); past them the key simply expires."""

_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
"""KEYS[1] a field's lease, ARGV[1] this holder, ARGV[2] the expiry in ms: 1 if the field is
(again) this holder's, 0 if another holds it."""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
"""KEYS[1] a field's lease, ARGV[1] this holder: deletes it only if it is this holder's."""


class WorkerLease:
    """One worker field in `0..slots-1`, leased in Redis; `current()` says whether it is
    held now. Not shared across processes: each process makes its own."""

    def __init__(self, client: coredis.Redis[str], *, slots: int,
                 ttl: float = TTL_SECONDS) -> None:
        self._client = client
        self._slots = slots
        self._ttl = ttl
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        self._field: int | None = None
        self._valid_until = -math.inf
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def current(self) -> int | None:
        """The field this process may mint ids on now, or None while it holds none."""
        if self._field is None or trio.current_time() >= self._valid_until:
            return None
        return self._field

    async def take(self) -> int:
        """Lease a free field (from a random one on) and return it. Raises `StorageError`
        when every field is leased or Redis fails. Cancelled, a field it took may stay
        leased until its key expires."""
        first = random.randrange(self._slots)
        for n in range(self._slots):
            field = (first + n) % self._slots
            sent = trio.current_time()
            with redis_errors():
                taken = await self._client.set(keys.worker_lease(field), self._holder,
                                               condition=PureToken.NX, px=self._ttl_ms())
            if taken:
                self._field, self._valid_until = field, sent + self._ttl
                return field
        raise StorageError(f"redis: all {self._slots} id worker fields are leased")

    async def renew(self) -> int:
        """Extend the lease on this process's field (re-taking it if Redis lost it), or,
        if another process holds it now, stop using it and take a free one; the field held.
        Raises `StorageError` if Redis fails or no field is free."""
        if self._field is not None:
            sent = trio.current_time()
            with redis_errors():
                held: object = await self._renew(keys=[keys.worker_lease(self._field)],
                                                 args=[self._holder, self._ttl_ms()])
            if held:
                self._valid_until = sent + self._ttl
                return self._field
            log.warning("id worker field %d is held by another process; taking another",
                        self._field)
            self._field = None
        return await self.take()

    async def release(self) -> None:
        """Give the field back (only if this process still holds it); minting stops now.
        Raises `StorageError` if Redis fails (the key then expires on its own)."""
        field, self._field = self._field, None
        if field is not None:
            with redis_errors():
                await self._release(keys=[keys.worker_lease(field)], args=[self._holder])

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        """Take a field, report it, then renew it every third of the expiry until
        cancelled. A renewal that fails or hangs is retried at the next turn; once the
        lease is older than its expiry, `current()` is None until a renewal succeeds.
        Cancelled, the field is released (shielded, for at most `RELEASE_SECONDS`)."""
        task_status.started(await self.take())
        try:
            while True:
                await trio.sleep(self._ttl / 3)
                try:
                    with trio.move_on_after(self._ttl / 3):  # a hung Redis: try again later
                        await self.renew()
                except StorageError as exc:
                    log.warning("id worker lease not renewed: %s", exc)
        finally:
            with trio.move_on_after(RELEASE_SECONDS, shield=True):
                try:
                    await self.release()
                except StorageError:
                    pass  # the key expires on its own

    def _ttl_ms(self) -> int:
        return max(1, int(self._ttl * 1000))


@asynccontextmanager
async def hold_worker_lease(client: coredis.Redis[str], *, slots: int,
                            ttl: float = TTL_SECONDS) -> AsyncIterator[WorkerLease]:
    """A `WorkerLease` holding a field, renewed in a task of its own until the block
    exits, then released. Raises `StorageError` if no field can be taken."""
    lease = WorkerLease(client, slots=slots, ttl=ttl)
    async with trio.open_nursery() as nursery:
        await nursery.start(lease.run)
        yield lease
        nursery.cancel_scope.cancel()
