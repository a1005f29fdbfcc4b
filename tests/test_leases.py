"""The id generator's worker field, leased from a real Valkey."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import trio
from coredis import PureToken

from pixtrio.features.ids import MAX_WORKER, IdGenerator, NoWorkerField
from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.storage.redis.leases import (
    TTL_SECONDS,
    WorkerLease,
    hold_worker_lease,
    settle_new_lease_table,
)
from pixtrio.testing.server_process import ServerProcess, wait_until
from pixtrio.testing.valkey import external_valkey, valkey_client, valkey_server
from tests.support.api import assert_error, register, unique_name

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


async def test_after_flushall_a_newcomer_waits_while_the_holders_retake_or_move(
        tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with valkey_client(tmp_path) as client:
            await client.set(keys.worker_lease(2), "elsewhere:1:blocker")  # a, b take 0 and 1
            a, b = WorkerLease(client, slots=3, ttl=TTL), WorkerLease(client, slots=3, ttl=TTL)
            await a.take()
            await b.take()
            assert {a.current(), b.current()} == {0, 1}  # a settled table: at once
            await client.flushall()  # Valkey loses its data; a and b still mint
            newcomer = WorkerLease(client, slots=2, ttl=TTL)  # takes 0 or 1, both lost
            sent = trio.current_time()
            taken = await newcomer.take()
            loser, keeper = (a, b) if a.current() == taken else (b, a)
            kept = keeper.current()
            leases = (a, b, newcomer)

            def usable() -> list[int]:
                fields = [lease.current() for lease in leases]
                return [field for field in fields if field is not None]

            assert newcomer.current() is None and loser.current() == taken  # not shared
            await keeper.renew()  # re-takes its own lost field, and keeps minting
            await loser.renew()  # finds it taken: moves to the free one, and waits too
            assert keeper.current() == kept and loser.field == 2 and loser.current() is None
            while newcomer.current() is None or loser.current() is None:
                assert len(usable()) == len(set(usable())) and keeper.current() == kept
                await trio.sleep(TTL / 6)
                for lease in leases:  # the renewals `run` would make
                    await lease.renew()
            assert trio.current_time() - sent >= TTL  # not before epoch + TTL
            assert sorted(usable()) == [0, 1, 2]
            assert (newcomer.current(), loser.current(), keeper.current()) == (taken, 2, kept)


async def test_a_new_table_is_used_only_from_its_epoch_plus_the_expiry_on(
        tmp_path: Path) -> None:
    with trio.fail_after(30):
        async with valkey_client(tmp_path) as client:
            await client.flushall()  # no epoch: as on a Redis no launcher settled
            first, second = (WorkerLease(client, slots=4, ttl=TTL) for _ in range(2))
            sent = trio.current_time()
            await first.take()
            await trio.sleep(TTL / 2)
            await second.take()  # the epoch is young: it waits for what is left of it
            assert first.current() is None and second.current() is None

            async def usable() -> bool:
                for lease in (first, second):
                    await lease.renew()
                return first.current() is not None and second.current() is not None

            await wait_until(usable, "the epoch to settle")
            assert trio.current_time() - sent >= TTL
            third = WorkerLease(client, slots=4, ttl=TTL)
            await third.take()  # a settled table: at once
            assert len({first.current(), second.current(), third.current()}) == 3


async def test_only_an_empty_redis_is_settled_at_once(tmp_path: Path) -> None:
    with trio.fail_after(20):
        async with valkey_client(tmp_path) as client:
            await client.flushall()
            await client.set("px:other", "1")
            assert not await settle_new_lease_table(client, ttl=TTL)  # it holds data
            waiting = WorkerLease(client, slots=4, ttl=TTL)
            await waiting.take()
            assert waiting.current() is None
            await client.flushall()
            assert await settle_new_lease_table(client, ttl=TTL)
            lease = WorkerLease(client, slots=4, ttl=TTL)
            assert await lease.take() == lease.current()


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


async def test_two_server_processes_hold_distinct_fields_also_after_flushall(
        tmp_path: Path) -> None:
    with trio.fail_after(120):
        async with external_valkey(tmp_path / "valkey") as valkey, \
                open_redis(RedisAddress(url=valkey.url)) as redis:

            async def holders() -> dict[int, int]:
                """pid -> leased field, as the lease keys in Valkey say."""
                held = {}
                for field in range(MAX_WORKER + 1):
                    holder = await redis.get(keys.worker_lease(field))
                    if holder is not None:
                        held[int(holder.split(":")[1])] = field
                return held

            env = {"PIXTRIO_REDIS_URL": valkey.url}
            with ServerProcess(tmp_path / "a", env=env) as a, \
                    ServerProcess(tmp_path / "b", env=env) as b:
                assert a.process is not None and b.process is not None
                fields = await holders()
                assert set(fields) == {a.process.pid, b.process.pid}
                assert len(set(fields.values())) == 2
                for server in (a, b):
                    logged = next(e["worker_id"] for e in server.log_entries() if "worker_id" in e)
                    assert logged == fields[server.process.pid]  # type: ignore[union-attr]
                await redis.flushall()  # Valkey loses its data

                async def both_held_again() -> bool:
                    return len(await holders()) == 2

                await wait_until(both_held_again, "both servers to re-take their fields",
                                 within=TTL_SECONDS)
                assert await holders() == fields  # each re-took its own, still free
            assert await holders() == {}  # released by the clean shutdowns


async def test_a_server_without_a_field_answers_503_until_one_is_free(tmp_path: Path) -> None:
    with trio.fail_after(120):
        async with external_valkey(tmp_path / "valkey") as valkey, \
                open_redis(RedisAddress(url=valkey.url)) as redis:
            with ServerProcess(tmp_path / "a", env={"PIXTRIO_REDIS_URL": valkey.url}) as server:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    await register(client)
                    # after a data loss, newcomers took every field, this server's too
                    for field in range(MAX_WORKER + 1):
                        await redis.set(keys.worker_lease(field), "elsewhere:1:newcomer")

                    async def refused() -> bool:  # once the server's renewal noticed
                        answer = await client.post("/api/auth/register", json=new_account())
                        return answer.status_code != 201

                    await wait_until(refused, "minting to stop", within=TTL_SECONDS)
                    assert_error(await client.post("/api/auth/register", json=new_account()),
                                 503, "unavailable")
                    await redis.delete([keys.worker_lease(7)])  # one newcomer left

                    async def minting() -> bool:
                        answer = await client.post("/api/auth/register", json=new_account())
                        return answer.status_code == 201

                    await wait_until(minting, "the free field to be taken", within=TTL_SECONDS)
                    _, user = await register(client)
                    assert (int(user["user_id"]) >> 12) & MAX_WORKER == 7


async def test_a_server_that_started_its_own_valkey_mints_at_once(tmp_path: Path) -> None:
    with trio.fail_after(120):
        with ServerProcess(tmp_path / "data") as server:  # the embedded Valkey, empty
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                answer = await client.post("/api/auth/register", json=new_account())
                assert answer.status_code == 201
            listening = next(e for e in server.log_entries() if "worker_id" in e)
            assert listening["worker_id"] is not None


def new_account() -> dict[str, str]:
    name = unique_name()
    return {"username": name, "email": f"{name}@example.com", "password": "correct horse"}
