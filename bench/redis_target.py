"""Where a benchmark's Redis lives: the Valkey `pixtrio serve` embeds (the default) or, with
`--cluster`, a throwaway 3-primary Valkey Cluster the server is pointed at.

    with redis_target(args.cluster) as target, \\
            ServerProcess(data_dir, env=target.server_env) as proc:
        async with open_redis(target.address(proc), cluster=target.cluster) as redis, \\
                target.node_clients(proc) as nodes: ...  # INFO, SCAN, CLIENT LIST per node
        pids = target.valkey_pids(proc)  # every node's, for `harness.cpu_seconds`
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coredis
import trio

from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.storage.redis.lean import command
from pixtrio.testing.server_process import ServerProcess
from pixtrio.testing.valkey_cluster import ValkeyCluster, running_valkey_cluster

PRIMARIES = 3


def add_cluster_argument(parser: argparse.ArgumentParser) -> None:
    """The `--cluster` option `redis_target` reads."""
    parser.add_argument("--cluster", action="store_true",
                        help=f"put the server's Redis on a throwaway {PRIMARIES}-primary "
                             "Valkey Cluster (default: its embedded Valkey)")


@dataclass(frozen=True)
class RedisTarget:
    """The Redis of one run: the server's embedded Valkey, or `valkey_cluster`."""

    valkey_cluster: ValkeyCluster | None = None
    node_pids: tuple[int, ...] = ()

    @property
    def cluster(self) -> bool:
        """The `cluster=` to give `open_redis` and `open_lean_redis`."""
        return self.valkey_cluster is not None

    @property
    def server_env(self) -> dict[str, str]:
        """What `pixtrio serve` needs in its environment to use this Redis."""
        if self.valkey_cluster is None:
            return {}
        return {"PIXTRIO_REDIS_URL": self.valkey_cluster.url, "PIXTRIO_REDIS_CLUSTER": "true"}

    def address(self, proc: ServerProcess) -> RedisAddress:
        """Where in-process clients reach the Redis `proc` uses: a cluster node, or the
        unix socket of its embedded Valkey (as its log says)."""
        if self.valkey_cluster is not None:
            return self.valkey_cluster.address
        described = next(e["redis"] for e in proc.log_entries() if "redis" in e)
        return RedisAddress(unix_socket=str(described.split("unix:", 1)[1]))

    def node_addresses(self, proc: ServerProcess) -> list[RedisAddress]:
        """Each Valkey behind `proc` on its own (a plain client's address, not a cluster's)."""
        if self.valkey_cluster is None:
            return [self.address(proc)]
        return [RedisAddress(url=f"redis://127.0.0.1:{port}") for port in self.valkey_cluster.ports]

    @contextlib.asynccontextmanager
    async def node_clients(self, proc: ServerProcess) -> AsyncIterator[list[coredis.Redis[str]]]:
        """A plain client of each Valkey behind `proc`, for per-node figures (INFO, SCAN,
        CLIENT LIST) the caller sums; closed on exit."""
        async with contextlib.AsyncExitStack() as stack:
            yield [await stack.enter_async_context(open_redis(address))
                   for address in self.node_addresses(proc)]

    def valkey_pids(self, proc: ServerProcess) -> list[int]:
        """The Valkey processes behind `proc` (every node of a cluster); empty if unknown."""
        if self.valkey_cluster is not None:
            return list(self.node_pids)
        try:
            return [int((proc.data_dir / "valkey" / "valkey.pid").read_text())]
        except (OSError, ValueError):
            return []

    def describe(self) -> dict[str, Any]:
        """For a result's JSON."""
        if self.valkey_cluster is None:
            return {"kind": "embedded"}
        return {"kind": "cluster", "primaries": len(self.valkey_cluster.ports)}


@contextlib.contextmanager
def redis_target(cluster: bool) -> Iterator[RedisTarget]:
    """The embedded target, or a fresh cluster (in a temp dir, its id lease table settled,
    so a server on it mints ids at once) that is stopped on exit. Call it outside trio."""
    if not cluster:
        yield RedisTarget()
        return
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-cluster-") as tmp, \
            running_valkey_cluster(Path(tmp), primaries=PRIMARIES) as valkey_cluster:
        trio.run(valkey_cluster.flush)
        yield RedisTarget(valkey_cluster, tuple(trio.run(_node_pids, valkey_cluster)))


async def _node_pids(valkey_cluster: ValkeyCluster) -> list[int]:
    pids = []
    for node in valkey_cluster.nodes():
        try:
            [info] = await node.execute([command("INFO", "server")])
        finally:
            await node.aclose()
        pids += [int(line.split(b":", 1)[1]) for line in info.splitlines()
                 if line.startswith(b"process_id:")]
    return pids
