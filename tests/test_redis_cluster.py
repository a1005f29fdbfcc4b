"""Against a real 3-primary Valkey Cluster (the cluster lane, `pytest -m cluster`): the
lean client's routing and redirections, the job queues, rate limits, caches and counters
whose keys spread over the nodes, and a whole `pixtrio serve` on the cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import coredis
import httpx
import pytest
import trio

from pixtrio.protocol.messages import FeedInsert
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.jobs import JobQueue
from pixtrio.storage.redis.lean import LeanRedis, Script, command, evalsha, slot_of
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.login_failures import Budget, LoginFailures
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.redis.ratelimit import GcraLimiter
from pixtrio.storage.redis.session_tokens import Cached, SessionTokens, SessionUser
from pixtrio.storage.types import Post
from pixtrio.testing.server_process import ServerProcess
from pixtrio.testing.valkey_cluster import ValkeyCluster, redis_clients
from tests.support.api import bearer, register
from tests.support.images import jpeg
from tests.support.posts import post_photo
from tests.support.ws import connect

pytestmark = pytest.mark.cluster

Clients = tuple[coredis.Redis[str], LeanRedis]
ECHO = Script("return {redis.call('GET', KEYS[1]) or false, ARGV[1]}")


@pytest.fixture
async def clients(tmp_path: Path, valkey_cluster: ValkeyCluster) -> AsyncIterator[Clients]:
    async with redis_clients(tmp_path, valkey_cluster) as opened:
        yield opened


async def node_ids(cluster: ValkeyCluster) -> list[str]:
    ids = []
    for node in cluster.nodes():
        [answer] = await node.execute([command("CLUSTER", "MYID")])
        ids.append(answer.decode())
        await node.aclose()
    return ids


async def on_each(cluster: ValkeyCluster, *args: str | int) -> None:
    """Run one command on every node (CLUSTER SETSLOT must reach them all)."""
    for node in cluster.nodes():
        await node.execute([command(*args)])
        await node.aclose()


def owner(slot: int, cluster: ValkeyCluster) -> int:
    """The index of the node that owns `slot` as the test cluster was made."""
    return min(slot // (16384 // len(cluster.ports)), len(cluster.ports) - 1)


async def test_slots_are_computed_as_the_cluster_computes_them(
        valkey_cluster: ValkeyCluster) -> None:
    [node, *others] = valkey_cluster.nodes()
    names = ["foo", "{u:1}:x", "px:timeline:{u:123456789}", "{}tagless", "a{}b{c}", "{{x}}",
             "a{b", keys.like_count(5), keys.job_attempts("media"), keys.job_stream("media")]
    slots = await node.execute([command("CLUSTER", "KEYSLOT", name) for name in names])
    assert [slot_of(name) for name in names] == slots
    for client in (node, *others):
        await client.aclose()


async def test_the_lean_client_spreads_one_batch_over_the_nodes(clients: Clients,
                                                               valkey_cluster: ValkeyCluster) -> None:
    redis, lean = clients
    names = [keys.post_cache(p) for p in range(60)]
    assert len({owner(slot_of(n), valkey_cluster) for n in names}) == 3
    for name in names:
        await redis.set(name, name)
    answers = await lean.execute([evalsha(ECHO, [n], [i]) for i, n in enumerate(names)])
    assert answers == [[n.encode(), str(i).encode()] for i, n in enumerate(names)]
    assert lean.values(await lean.execute(lean.reads(names))) == [n.encode() for n in names]


async def test_the_lean_client_follows_moved_and_ask(clients: Clients,
                                                     valkey_cluster: ValkeyCluster) -> None:
    redis, lean = clients
    moving, migrating = keys.post_cache(1), keys.post_cache(2)
    slots = [slot_of(moving), slot_of(migrating)]
    assert len(set(slots)) == 2
    await lean.execute([evalsha(ECHO, [k], ["warm"]) for k in (moving, migrating)])  # map read
    ids = await node_ids(valkey_cluster)
    sources = [owner(slot, valkey_cluster) for slot in slots]
    targets = [(source + 1) % 3 for source in sources]
    # the first slot moves for good: the source answers MOVED, the map is read again
    await on_each(valkey_cluster, "CLUSTER", "SETSLOT", slots[0], "NODE", ids[targets[0]])
    await redis.set(moving, "moved")
    assert await lean.run_script(ECHO, [moving], ["x"]) == [b"moved", b"x"]
    # the second is being migrated: a key the source lacks gets ASK towards the target
    target, source = valkey_cluster.nodes()[targets[1]], valkey_cluster.nodes()[sources[1]]
    await target.execute([command("CLUSTER", "SETSLOT", slots[1], "IMPORTING", ids[sources[1]])])
    await source.execute([command("CLUSTER", "SETSLOT", slots[1], "MIGRATING", ids[targets[1]])])
    put = Script("return redis.call('SET', KEYS[1], ARGV[1])")
    assert await lean.run_script(put, [migrating], ["asked"]) == b"OK"
    assert await target.execute([command("ASKING"), command("GET", migrating)]) == [b"OK", b"asked"]
    await on_each(valkey_cluster, "CLUSTER", "SETSLOT", slots[1], "NODE", ids[targets[1]])
    assert await lean.run_script(ECHO, [migrating], ["y"]) == [b"asked", b"y"]
    for node in (target, source):
        await node.aclose()


async def test_job_queues_take_reclaim_and_finish_on_a_cluster(clients: Clients) -> None:
    redis, _ = clients
    queue = JobQueue(redis, "media")
    await queue.ensure_group()
    entry = await queue.add("42", kind="photo")
    assert not await queue.add_unless_queued("42", kind="photo")
    job = await queue.take("w1", block_ms=100)
    assert job is not None and (job.entry_id, job.key, job.fields) == (entry, "42", {"kind": "photo"})
    assert await queue.start_attempt(job) == 1 and await queue.count_failure(job) == 1
    await trio.sleep(0.02)
    again = await queue.reclaim("w2", min_idle_ms=10)
    assert again is not None and again.entry_id == entry
    await queue.finish(again)
    assert await queue.depth() == 0 and await queue.add_unless_queued("42", kind="photo")


async def test_rate_limits_and_sign_in_failures_on_a_cluster(clients: Clients) -> None:
    redis, _ = clients
    limiter = GcraLimiter(redis)
    hits = [(await limiter.hit("login_ip", f"a:10.0.0.{n % 3}", limit=2, period_ms=60_000)).wait_ms
            for n in range(9)]
    assert hits[:6] == [0] * 6 and all(wait > 0 for wait in hits[6:])
    failures = LoginFailures(redis, per_address=Budget(1, 60_000),
                             per_account=Budget(100, 60_000), remember_ms=60_000)
    assert (await failures.attempt("u:1", "1.2.3.4")).wait_ms == 0
    assert (await failures.attempt("u:1", "1.2.3.4")).wait_ms > 0
    assert (await failures.attempt("u:1", "5.6.7.8")).wait_ms == 0


async def test_caches_counters_and_tokens_spread_over_the_nodes(clients: Clients) -> None:
    redis, lean = clients
    counters = LikeCounters(redis)
    for post_id in (1, 2):
        await counters.start(post_id)
    for _ in range(20):
        await counters.add(1, 1)
    assert await counters.add(2, 1) == 1
    assert await counters.totals([1, 2, 3]) == {1: 20, 2: 1}
    assert sorted(await counters.take_dirty(10)) == [1, 2]
    cache = PostCache(redis, ttl_s=60)
    posts = {p: Post(post_id=p, author_id=7, kind="photo", status="ready",
                     created_at=datetime(2026, 1, 1, tzinfo=UTC)) for p in range(1, 30)}
    missed = await cache.lookup(posts)
    await cache.fill(posts, missed.missing)
    assert (await cache.lookup(posts)).found == posts
    tokens = SessionTokens(redis, lean, ttl_s=60)
    user = SessionUser(7, "seven", None)
    for token in ("aa", "bb", "cc"):
        await tokens.put(token, user)
    await tokens.drop_user(7)
    assert [await tokens.get(t) for t in ("aa", "bb", "cc")] == [None, None, None]
    await tokens.revoke("aa")
    assert await tokens.get("aa") == Cached(None)


async def test_a_server_on_a_cluster_uploads_publishes_feeds_and_pushes_events(
        tmp_path: Path, valkey_cluster: ValkeyCluster) -> None:
    await valkey_cluster.flush()
    env = {"PIXTRIO_REDIS_URL": valkey_cluster.url, "PIXTRIO_REDIS_CLUSTER": "true"}
    with ServerProcess(tmp_path / "data", env=env) as server:
        listening = [e for e in server.log_entries() if "redis" in e]
        assert listening[0]["redis"] == f"redis cluster at {valkey_cluster.url}"
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            author_token, author = await register(client)
            fan_token, _ = await register(client)
            await client.post(f"/api/users/{author['username']}/follow", headers=bearer(fan_token))
            async with connect(server.url, fan_token) as fan_ws:
                post = await post_photo(client, author_token, jpeg(64, 48), caption="sharded")
                assert post["status"] == "ready"
                with trio.fail_after(20):
                    inserted = await fan_ws.next_of(FeedInsert)
                assert inserted.post["post_id"] == post["post_id"]
            liked = await client.post(f"/api/posts/{post['post_id']}/like",
                                      headers=bearer(fan_token))
            assert liked.status_code == 200
            page = (await client.get("/api/feed", headers=bearer(fan_token))).json()
            [shown] = page["posts"]
            assert (shown["post_id"], shown["caption"]) == (post["post_id"], "sharded")
            assert shown["liked_by_viewer"] and shown["author"]["username"] == author["username"]
            assert (await client.get("/readyz")).status_code == 200
