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
from pixtrio.storage.redis.leases import TTL_SECONDS, WorkerLease, hold_worker_lease
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


def new_account() -> dict[str, str]:
    name = unique_name()
    return {"username": name, "email": f"{name}@example.com", "password": "correct horse"}
