"""The id generator's worker field, leased from a real Valkey."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio
from coredis import PureToken

from server.ids import IdGenerator, NoWorkerField
from storage.errors import StorageError
from storage.redis import keys
from storage.redis.client import open_redis
from storage.redis.leases import WorkerLease, hold_worker_lease
from tests.support.server import wait_until
from tests.support.valkey import valkey_client, valkey_server

TTL = 0.6
"""A short lease, renewed every 0.2 s, so that expiry and renewal happen within a test."""


async def test_live_holders_never_share_a_field_and_a_released_one_is_taken_again(
        tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with valkey_client(tmp_path) as client, \
                hold_worker_lease(client, slots=2, ttl=TTL) as b:
            late = WorkerLease(client, slots=2, ttl=TTL)
            async with hold_worker_lease(client, slots=2, ttl=TTL) as a:
                field = a.current()
                assert {field, b.current()} == {0, 1}
                with pytest.raises(StorageError):
                    await late.take()  # both fields are held
            assert a.current() is None  # released on exit
            assert await late.take() == field and late.current() == field

            async def lapsed() -> bool:  # late is not renewed
                return late.current() is None

            await wait_until(lapsed, "the unrenewed lease to lapse")
            assert b.current() == 1 - field  # taken before late's, yet renewed meanwhile
            await late.release()


async def test_after_flushall_a_holder_drops_a_field_a_newcomer_took(tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with valkey_client(tmp_path) as client, \
                hold_worker_lease(client, slots=2, ttl=TTL) as a, \
                hold_worker_lease(client, slots=2, ttl=TTL) as b:
            fields = {a: a.current(), b: b.current()}
            await client.flushall()  # Valkey loses its data
            async with hold_worker_lease(client, slots=2, ttl=TTL) as newcomer:
                taken = newcomer.current()
                loser = a if fields[a] == taken else b
                keeper = b if loser is a else a

                async def renewals_ran() -> bool:
                    return loser.current() is None

                await wait_until(renewals_ran, "the holder of the newcomer's field to drop it")
                # the other field was lost too and re-taken by its holder
                assert keeper.current() == fields[keeper]
                assert newcomer.current() == taken
                holders = [await client.get(keys.worker_lease(field)) for field in (0, 1)]
                assert None not in holders and holders[0] != holders[1]
            # the newcomer released its field: the holder that lost it takes it again

            async def retaken() -> bool:
                return loser.current() == taken

            await wait_until(retaken, "the released field to be taken again")
            assert keeper.current() == fields[keeper]



async def test_a_holder_that_cannot_renew_stops_minting_until_it_can(tmp_path: Path) -> None:
    with trio.fail_after(30):
        # the operator's own client: replies on the lease's connection come in order
        async with valkey_server(tmp_path) as address, open_redis(address) as client, \
                open_redis(address) as operator, \
                hold_worker_lease(client, slots=4, ttl=TTL) as lease:
            ids = IdGenerator(lease.current)
            assert (ids.next_id() >> 12) & 0x3FF == lease.current()
            await operator.client_pause(20_000, PureToken.WRITE)  # Valkey hangs its writes

            async def refused() -> bool:
                try:
                    ids.next_id()
                except NoWorkerField:
                    return True
                return False

            await wait_until(refused, "minting to stop once the lease lapsed")
            assert ids.worker_id is None
            await operator.client_unpause()

            async def minting() -> bool:
                return lease.current() is not None

            await wait_until(minting, "the lease to be renewed once Valkey answers")
            assert (ids.next_id() >> 12) & 0x3FF == lease.current()
