"""Driving the three-step upload in tests."""

from __future__ import annotations

from typing import Any

import httpx
import trio

from tests.support.api import bearer


async def upload(client: httpx.AsyncClient, token: str, data: bytes,
                 content_type: str = "image/jpeg") -> tuple[str, str]:
    """Ask for an upload URL and PUT `data` to it; returns (post_id, upload_url)."""
    grant = await client.post("/api/posts/upload-url", headers=bearer(token),
                              json={"content_type": content_type, "size": len(data)})
    assert grant.status_code == 201, grant.text
    url = grant.json()["upload_url"]
    put = await client.put(url, content=data, headers={"Content-Type": content_type})
    assert put.status_code == 201, put.text
    return grant.json()["post_id"], url


async def publish(client: httpx.AsyncClient, token: str, post_id: str, **fields: str) -> dict[str, Any]:
    answer = await client.post(f"/api/posts/{post_id}/publish", headers=bearer(token), json=fields)
    assert answer.status_code == 202, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def settled(client: httpx.AsyncClient, token: str, post_id: str, within: float = 90) -> dict[str, Any]:
    """The post once it is no longer processing, as its author sees it."""
    with trio.fail_after(within):
        while True:
            post = (await client.get(f"/api/posts/{post_id}", headers=bearer(token))).json()
            if post["status"] != "processing":
                return post  # type: ignore[no-any-return]
            await trio.sleep(0.1)


async def post_photo(client: httpx.AsyncClient, token: str, data: bytes,
                     content_type: str = "image/jpeg", **fields: str) -> dict[str, Any]:
    """Upload, publish and wait: the settled post."""
    post_id, _ = await upload(client, token, data, content_type)
    await publish(client, token, post_id, **fields)
    return await settled(client, token, post_id)
