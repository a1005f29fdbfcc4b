"""The id generator's worker field, leased from Redis: one key per field, held by one
process while it renews it.

A field is taken with `SET NX` and an expiry, renewed every third of that expiry by a
script that extends it only for its holder, and deleted (by its holder only) on a clean
exit. The holder counts its lease from just before each request was sent, so it stops
using a field before Redis lets the key expire.

If Redis loses its data (FLUSHALL, a restart without persistence), a process that still
holds a field in its memory may go on minting on it until its next renewal, or, if its
renewals fail, until its lease runs out: at most one expiry (TTL) after the loss. A field
key alone cannot tell a newcomer so. The lease table therefore has an epoch, a key without
expiry in the same `{ids}` slot as the field keys, holding when the table began (Redis
TIME). Taking a field is one script: it sets the field's key and, if the epoch is missing
(a new table, or a lost one), sets the epoch to now. The taker mints only from epoch + TTL
on; by then every holder from before the loss has stopped, or its renewal has re-taken its
own field (so a newcomer cannot take it) or found it taken and moved to another field,
which it mints on only from epoch + TTL on as well. A renewal never creates the epoch, and
it re-takes its own lost key without waiting only while its lease is unbroken (the reply
came before the lease ran out: no one else held the field meanwhile); otherwise it waits
like a taker. So a normal start (the epoch is older than TTL) does not wait, and after a
loss the newcomers, not the live holders, wait.

Whoever starts an empty Redis knows no process held a field in it before: it may mark the
table settled (`settle_new_lease_table`, epoch = now - TTL), so the embedded Valkey's
first start, `make run` and the tests' own servers do not wait. Any other taker of a new
table waits TTL once. While a field is not usable yet, `current()` is None and ids answer
503 `unavailable`, as when a lease lapses: the server starts at once and keeps serving
reads, rather than blocking its start on a state it may also reach while running.

A clock step on the Redis host shortens or lengthens that wait; it is never longer than
TTL. Keys evicted by a `maxmemory` policy are a loss this does not see (a `volatile-*`
policy may evict a field's key, which has an expiry): give Pixtrio's Redis `noeviction`.
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

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors
from pixtrio.storage.redis.scripts import source

log = logging.getLogger("pixtrio.storage")

TTL_SECONDS = 30.0
"""How long a field stays leased without renewal; it is renewed every third of that."""
RELEASE_SECONDS = 2.0
"""Seconds the release at exit may take (shielded); past them the key simply expires."""

_TAKE = source("clock.part", "lease_wait.part", "lease_take")
_RENEW = source("clock.part", "lease_wait.part", "lease_renew")
_RELEASE = source("lease_release")
_SETTLE = source("clock.part", "lease_settle")


async def settle_new_lease_table(client: coredis.Redis[str], *, ttl: float = TTL_SECONDS
                                 ) -> bool:
    """Mark the lease table of an empty Redis as settled, so its first takers mint at once;
    call it only on a Redis this process started itself, before anything else used it.
    Returns False, changing nothing, if the Redis holds any key. Raises `StorageError`."""
    settle = client.register_script(_SETTLE)
    with redis_errors():
        return bool(await settle(keys=[keys.lease_epoch()], args=[_ms(ttl)]))


class WorkerLease:
    """One worker field in `0..slots-1`, leased in Redis; `current()` says whether it may
    be minted on now. Not shared across processes: each process makes its own."""

    def __init__(self, client: coredis.Redis[str], *, slots: int,
                 ttl: float = TTL_SECONDS) -> None:
        self._client = client
        self._slots = slots
        self._ttl = ttl
        self._holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(8)}"
        self._field: int | None = None
        self._valid_from = math.inf
        self._valid_until = -math.inf
        self._take = client.register_script(_TAKE)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @property
    def field(self) -> int | None:
        """The field leased now, usable or not yet; None while none is."""
        return self._field

    def current(self) -> int | None:
        """The field this process may mint ids on now, or None while it holds none (or
        holds one it may not use yet)."""
        now = trio.current_time()
        if self._field is None or not self._valid_from <= now < self._valid_until:
            return None
        return self._field

    async def take(self) -> int:
        """Lease a free field (from a random one on) and return it; it is usable (see
        `current()`) from the lease epoch + TTL on, at once in a settled table. Raises
        `StorageError` when every field is leased or Redis fails. Cancelled, a field it
        took may stay leased until its key expires."""
        first = random.randrange(self._slots)
        for n in range(self._slots):
            field = (first + n) % self._slots
            sent = trio.current_time()
            with redis_errors():
                wait_ms = int(await self._take(
                    keys=[keys.worker_lease(field), keys.lease_epoch()],
                    args=[self._holder, _ms(self._ttl)]))
            if wait_ms >= 0:
                self._field, self._valid_until = field, sent + self._ttl
                self._valid_from = trio.current_time() + wait_ms / 1000
                if wait_ms:
                    log.info("id worker field %d is usable in %.1f s: the lease table is new "
                             "or Redis lost it", field, wait_ms / 1000)
                return field
        raise StorageError(f"redis: all {self._slots} id worker fields are leased")

    async def renew(self) -> int:
        """Extend the lease on this process's field (re-taking it if Redis lost it), or,
        if another process holds it now, stop using it and take a free one; the field held.
        Raises `StorageError` if Redis fails or no field is free."""
        if self._field is not None:
            sent = trio.current_time()
            with redis_errors():
                wait_ms = int(await self._renew(
                    keys=[keys.worker_lease(self._field), keys.lease_epoch()],
                    args=[self._holder, _ms(self._ttl)]))
            if wait_ms >= 0:
                received = trio.current_time()
                if received >= self._valid_until:  # broken: another may have held it since
                    self._valid_from = max(self._valid_from, received + wait_ms / 1000)
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
        lease is older than its expiry, `current()` is None until a renewal succeeds (and,
        if Redis lost the field meanwhile, until epoch + TTL).
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


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


@asynccontextmanager
async def hold_worker_lease(client: coredis.Redis[str], *, slots: int,
                            ttl: float = TTL_SECONDS) -> AsyncIterator[WorkerLease]:
    """A `WorkerLease` holding a field (usable as `take` says), renewed in a task of its
    own until the block exits, then released. Raises `StorageError` if no field can be
    taken."""
    lease = WorkerLease(client, slots=slots, ttl=ttl)
    async with trio.open_nursery() as nursery:
        await nursery.start(lease.run)
        yield lease
        nursery.cancel_scope.cancel()
