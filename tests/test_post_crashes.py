"""Crashes never cost a user their post: a publish cut short by Redis going away is
repaired by its retry, and a server SIGKILLed mid-job again and again still makes every
post ready (attempts cut short by the process dying are not failures)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import trio

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.testing.server_process import TEST_RATE_LIMITS, ServerProcess, wait_until
from pixtrio.testing.valkey import external_valkey
from tests.support import images
from tests.support.api import assert_error, bearer, register
from tests.support.posts import publish, settled, upload


async def test_a_publish_cut_short_by_redis_is_repaired_by_its_retry(
    data_dir: Path, tmp_path: Path
) -> None:
    async with external_valkey(tmp_path / "redis") as valkey:
        # publishing unlimited: its rate limit, kept in Redis, would refuse it (503) before
        # the post is stored, and this is about a publish cut short after that
        env = {"PIXTRIO_REDIS_URL": valkey.url,
               "PIXTRIO_RATE_LIMITS": f"{TEST_RATE_LIMITS},posts=off"}
        with ServerProcess(data_dir, env=env) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                token, _ = await register(client)
                # big enough that its processing is still running when publish is repeated
                post_id, _ = await upload(client, token, images.jpeg(2400, 1600))
                await valkey.kill()
                cut = await client.post(f"/api/posts/{post_id}/publish", headers=bearer(token),
                                        json={"caption": "first try"})
                assert_error(cut, 503)
                await valkey.start()

                async def ready() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                await wait_until(ready, "redis back")
                stored = await client.get(f"/api/posts/{post_id}", headers=bearer(token))
                assert stored.status_code == 200, stored.text
                assert stored.json()["status"] == "processing", "the post was stored, its job lost"
                retried = await publish(client, token, post_id, caption="first try")
                assert retried["status"] == "processing" and retried["caption"] == "first try"
                assert await publish(client, token, post_id, caption="first try") == retried
                assert (await settled(client, token, post_id, within=60))["status"] == "ready"
                again = await client.post(f"/api/posts/{post_id}/publish", headers=bearer(token),
                                          json={})
                assert_error(again, 409, "already_published")


CUT_SHORT = 3
"""Attempts at one post's job cut short by the server dying: as many as the failures that
give a job up, so counting them as failures would fail the post."""


async def test_posts_survive_the_server_being_killed_mid_job(
    data_dir: Path, tmp_path: Path
) -> None:
    """SIGKILL the server while a worker runs a photo's job (the worker frozen first, so
    the attempt cannot finish in between), `CUT_SHORT` times over one post: the post ends
    ready. Redis is external so the test sees each attempt start and stay unfinished."""
    async with external_valkey(tmp_path / "redis") as valkey, \
            open_redis(RedisAddress(url=valkey.url)) as redis:
        env = {"PIXTRIO_REDIS_URL": valkey.url, "PIXTRIO_MEDIA_WORKERS": "1",
               "PIXTRIO_MEDIA_JOB_TIMEOUT": "5", "PIXTRIO_MEDIA_VISIBILITY_TIMEOUT": "6"}
        server = ServerProcess(data_dir, env=env)
        try:
            server.start()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                token, _ = await register(client)
                post_id, _ = await upload(client, token, images.png(4000, 3000), "image/png")
                await publish(client, token, post_id)

            async def starts() -> int:
                return int(await redis.hget(keys.job_attempts("media"), post_id) or 0)

            with trio.fail_after(120):
                for cut_short in range(CUT_SHORT):
                    while await starts() == cut_short:  # noqa: ASYNC110 - another process's state
                        await trio.sleep(0.01)
                    workers = server.worker_pids()
                    for pid in workers:
                        os.kill(pid, signal.SIGSTOP)
                    unfinished = await redis.hexists(keys.job_entries("media"), post_id)
                    assert unfinished, f"attempt {cut_short + 1} ended before it was frozen"
                    server.kill()
                    for pid in workers:
                        os.kill(pid, signal.SIGKILL)
                    server.start()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                post = await settled(client, token, post_id, within=60)
                assert post["status"] == "ready", post
            assert await starts() == 0, "finishing the job dropped its counts"
        finally:
            try:
                server.stop()
            finally:
                server.kill()
