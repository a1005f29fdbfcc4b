"""The server process: clean shutdown, restarts keeping data, Valkey supervision, external Redis."""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import httpx

from pixtrio.testing.server_process import ServerProcess, wait_until
from pixtrio.testing.valkey import external_valkey
from tests.support.api import bearer, register


def valkey_pid(data_dir: Path) -> int:
    return int((data_dir / "valkey" / "valkey.pid").read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


async def test_restart_keeps_users_follows_and_tokens(data_dir: Path) -> None:
    with ServerProcess(data_dir) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            ann_token, ann = await register(client, "ann")
            _, bob = await register(client, "bob")
            await client.post("/api/users/bob/follow", headers=bearer(ann_token))
            await client.patch("/api/me", headers=bearer(ann_token), json={"bio": "kept"})
        first_valkey = valkey_pid(data_dir)
        assert stat.S_IMODE((data_dir / "signing.key").stat().st_mode) == 0o600
        secret = (data_dir / "signing.key").read_text()
        assert server.stop() == 0
    assert not alive(first_valkey), "valkey must stop with the server"
    assert any(e.get("msg") == "pixtrio stopped" for e in server.log_entries())

    with ServerProcess(data_dir) as again:
        assert (data_dir / "signing.key").read_text() == secret, "the secret is made only once"
        async with httpx.AsyncClient(base_url=again.url) as client:
            me = await client.get("/api/me", headers=bearer(ann_token))
            assert me.status_code == 200 and me.json()["bio"] == "kept"
            assert me.json()["user_id"] == ann["user_id"]
            assert (await client.get("/api/users/bob")).json()["followers_count"] == 1
            assert (await client.get("/api/users/bob", headers=bearer(ann_token))).json()[
                "followed_by_viewer"] is True
            login = await client.post("/api/auth/login", json={"login": "bob", "password": "correct horse"})
            assert login.status_code == 200 and login.json()["user"]["user_id"] == bob["user_id"]


async def test_ctrl_c_stops_server_and_valkey(data_dir: Path) -> None:
    with ServerProcess(data_dir) as server:
        valkey = valkey_pid(data_dir)
        assert server.stop(signum=signal.SIGINT) == 0
    assert not alive(valkey)
    messages = [e.get("msg", "") for e in server.log_entries()]
    assert "received SIGINT; shutting down" in messages and messages[-1] == "pixtrio stopped"
    errors = [e for e in server.log_entries() if e.get("level") == "error"]
    assert not errors


async def test_killed_valkey_is_restarted(data_dir: Path) -> None:
    with ServerProcess(data_dir) as server:
        async with httpx.AsyncClient(base_url=server.url) as client:
            token, _ = await register(client)
            old = valkey_pid(data_dir)
            os.kill(old, signal.SIGKILL)

            async def restarted() -> bool:
                try:
                    pid = valkey_pid(data_dir)
                except (OSError, ValueError):
                    return False
                if pid == old or not alive(pid):
                    return False
                return (await client.get("/readyz")).status_code == 200

            await wait_until(restarted, "valkey restarted")
            # Redis-backed paths (rate limits on login) work again
            _, user = await register(client)
            login = await client.post(
                "/api/auth/login", json={"login": user["username"], "password": "correct horse"}
            )
            assert login.status_code == 200
            assert (await client.get("/api/me", headers=bearer(token))).status_code == 200
    assert any("valkey exited" in e.get("msg", "") for e in server.log_entries())


async def test_external_redis_and_readiness(data_dir: Path, tmp_path: Path) -> None:
    async with external_valkey(tmp_path / "external") as valkey:
        env = {"PIXTRIO_REDIS_URL": valkey.url}
        with ServerProcess(data_dir, env=env) as server:
            listening = [e for e in server.log_entries() if e.get("msg", "").startswith("pixtrio listening")]
            assert listening[0]["redis"] == f"redis at {valkey.url}"
            assert not (data_dir / "valkey").exists(), "no embedded Valkey with PIXTRIO_REDIS_URL"
            # a second process sharing the Redis gets its own id-generator worker field
            with ServerProcess(tmp_path / "second", env=env) as second:
                second_listening = [e for e in second.log_entries()
                                    if e.get("msg", "").startswith("pixtrio listening")]
                assert second_listening[0]["worker_id"] != listening[0]["worker_id"]
            async with httpx.AsyncClient(base_url=server.url) as client:
                assert (await client.get("/readyz")).status_code == 200
                await valkey.kill()
                down = await client.get("/readyz")
                assert down.status_code == 503
                assert down.json()["checks"]["metadata"] == "ok"
                assert down.json()["checks"]["redis"].startswith("failing")
                assert (await client.get("/healthz")).status_code == 200
                # a Redis-backed route says unavailable rather than failing obscurely
                login = await client.post("/api/auth/login", json={"login": "x", "password": "y"})
                assert login.status_code == 503 and login.json()["error"]["code"] == "unavailable"
                await valkey.start()

                async def ready() -> bool:
                    return (await client.get("/readyz")).status_code == 200

                await wait_until(ready, "redis back")
