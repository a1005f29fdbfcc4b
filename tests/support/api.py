"""Small helpers for driving the API in tests."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import trio

from pixtrio.testing.server_process import REPO

_names = itertools.count()


def unique_name(prefix: str = "u") -> str:
    """A username no other test of this session uses."""
    return f"{prefix}{os.getpid()}_{next(_names)}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register(client: httpx.AsyncClient, username: str | None = None) -> tuple[str, dict[str, Any]]:
    """Register a fresh account; returns (token, user)."""
    username = username or unique_name()
    response = await client.post("/api/auth/register", json={
        "username": username, "email": f"{username}@example.com", "password": "correct horse",
    })
    assert response.status_code == 201, response.text
    body = response.json()
    return body["token"], body["user"]


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is API.md's error shape with `status` (and `code`); returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"]
    if code is not None:
        assert error["code"] == code
    return error  # type: ignore[no-any-return]


async def admin_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run `pixtrio admin ARGS --data-dir DATA_DIR` as an operator would."""
    return await trio.run_process(
        [sys.executable, "-m", "pixtrio.cli", "admin", *args, "--data-dir", str(data_dir)],
        cwd=REPO, env=dict(os.environ), capture_stdout=True, capture_stderr=True, check=False)


async def staff(client: httpx.AsyncClient, data_dir: Path,
                role: str = "moderator") -> tuple[str, dict[str, Any]]:
    """A new account given `role` with the command line; (token, user)."""
    token, user = await register(client)
    done = await admin_cli(data_dir, "grant", user["username"], "--role", role)
    assert done.returncode == 0, done.stderr
    return token, user
