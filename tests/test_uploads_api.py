"""Bad uploads: each gets a clear JSON error or a failed post, and nothing accepted is lost."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import trio
from coredis import PureToken
from coredis.exceptions import RedisError

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import open_redis
from pixtrio.testing.server_process import ServerProcess
from pixtrio.testing.valkey import valkey_server
from tests.support import images
from tests.support.api import assert_error, bearer, register
from tests.support.posts import post_photo, publish, settled, upload


async def grant(client: httpx.AsyncClient, token: str, size: int,
                content_type: str = "image/jpeg") -> str:
    answer = await client.post("/api/posts/upload-url", headers=bearer(token),
                               json={"content_type": content_type, "size": size})
    assert answer.status_code == 201, answer.text
    return answer.json()["upload_url"]  # type: ignore[no-any-return]


async def test_upload_url_checks(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    url = "/api/posts/upload-url"
    for size in (0, -5):
        error = assert_error(await client.post(url, headers=bearer(token),
                                               json={"content_type": "image/jpeg", "size": size}), 422)
        assert error["message"].startswith("size")
    assert_error(await client.post(url, headers=bearer(token),
                                   json={"content_type": "image/jpeg", "size": 26 * 1024 * 1024}), 413)
    assert_error(await client.post(url, headers=bearer(token),
                                   json={"content_type": "image/svg+xml", "size": 100}), 415)
    assert_error(await client.post(url, json={"content_type": "image/jpeg", "size": 100}), 401)


@pytest.mark.parametrize(("body", "name"), [
    (images.SVG, "svg"), (images.PDF, "pdf"), (images.HTML, "html renamed .jpg"),
    (b"PK\x03\x04" + b"\x00" * 60, "zip"),
])
async def test_not_an_image_is_415(client: httpx.AsyncClient, body: bytes, name: str) -> None:
    token, _ = await register(client)
    answer = await client.post("/api/posts/upload-url", headers=bearer(token),
                               json={"content_type": "image/jpeg", "size": len(body)})
    post_id, put_url = answer.json()["post_id"], answer.json()["upload_url"]
    put = await client.put(put_url, content=body, headers={"Content-Type": "image/jpeg"})
    assert_error(put, 415, "unsupported_media_type")
    # nothing was stored, so there is nothing to publish
    assert_error(await client.post(f"/api/posts/{post_id}/publish", headers=bearer(token), json={}), 404)


async def test_put_body_and_type_checks(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    data = images.jpeg(300, 200)

    short = await grant(client, token, len(data) + 10)
    assert_error(await client.put(short, content=data, headers={"Content-Type": "image/jpeg"}), 400)
    empty = await grant(client, token, 10)
    assert_error(await client.put(empty, content=b"", headers={"Content-Type": "image/jpeg"}), 400)

    longer = await grant(client, token, len(data) - 10)
    assert_error(await client.put(longer, content=data, headers={"Content-Type": "image/jpeg"}), 413)

    async def chunked() -> object:
        for start in range(0, len(data), 4096):
            yield data[start:start + 4096]

    streamed = await grant(client, token, len(data) - 10)
    answer = await client.put(streamed, content=chunked(), headers={"Content-Type": "image/jpeg"})
    assert_error(answer, 413)

    wrong_header = await grant(client, token, len(data))
    assert_error(await client.put(wrong_header, content=data, headers={"Content-Type": "image/png"}), 415)
    png_declared = await grant(client, token, len(data), "image/png")
    assert_error(await client.put(png_declared, content=data, headers={"Content-Type": "image/png"}), 415)

    # a refused attempt does not use the URL up: the right body still goes through
    retry = await client.put(short, content=data + b"0123456789", headers={"Content-Type": "image/jpeg"})
    assert retry.status_code == 201


async def test_upload_urls_are_single_use_signed_and_bound(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    other_token, _ = await register(client)
    data = images.jpeg(300, 200)
    post_id, url = await upload(client, token, data)
    again = await client.put(url, content=data, headers={"Content-Type": "image/jpeg"})
    assert_error(again, 409, "upload_url_used")
    assert again.content.startswith(b'{"error":{"code":"upload_url_used","message":"')  # compact, like every route

    forged = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert_error(await client.put(forged, content=data, headers={"Content-Type": "image/jpeg"}), 403)
    body, _, tag = url.removeprefix("/upload/").partition(".")
    assert_error(await client.put(f"/upload/{body}", content=data,
                                  headers={"Content-Type": "image/jpeg"}), 403)
    assert_error(await client.put("/upload/garbage", content=data,
                                  headers={"Content-Type": "image/jpeg"}), 403)

    theirs = await grant(client, other_token, len(data))
    mixed = await client.put(theirs, content=data,
                             headers={"Content-Type": "image/jpeg", **bearer(token)})
    assert_error(mixed, 403)

    # publishing: someone else's upload, an unknown id, again once ready
    assert_error(await client.post(f"/api/posts/{post_id}/publish", headers=bearer(other_token), json={}), 404)
    assert_error(await client.post("/api/posts/123456/publish", headers=bearer(token), json={}), 404)
    assert_error(await client.post("/api/posts/not-a-number/publish", headers=bearer(token), json={}), 404)
    await publish(client, token, post_id)
    assert (await settled(client, token, post_id))["status"] == "ready"
    assert_error(await client.post(f"/api/posts/{post_id}/publish", headers=bearer(token), json={}),
                 409, "already_published")


async def test_appended_payloads_never_reach_served_files(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("evil.html", "<script>alert('zip')</script>")
    for payload in (b"<html><script>alert('polyglot')</script></html>", archive.getvalue()):
        post = await post_photo(client, token, images.png(640, 480) + payload, "image/png")
        assert post["status"] == "ready", post
        for urls in post["variants"].values():
            for url in urls.values():
                served = (await client.get(url)).content
                assert b"<script>" not in served and b"evil.html" not in served and b"PK\x03\x04" not in served


async def test_pixel_bomb_fails_fast(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    post = await post_photo(client, token, images.png_bomb(), "image/png")
    assert post["status"] == "failed"
    assert "megapixel" in post["failure_reason"]
    # the pool survived: the next photo is processed
    assert (await post_photo(client, token, images.jpeg(300, 300)))["status"] == "ready"


async def test_redis_going_away_during_an_upload_is_503(tmp_path: Path) -> None:
    """Redis gone while the body arrives: a 503 `unavailable` with Retry-After, as for
    every other route, not a 500 with the driver's error."""
    data = images.jpeg(300, 200)
    async with valkey_server(tmp_path / "redis") as address, open_redis(address) as redis:
        env = {"PIXTRIO_REDIS_URL": f"unix://{address.unix_socket}"}
        with ServerProcess(tmp_path / "data", env=env) as server:
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                token, _ = await register(client)
                grant = await client.post("/api/posts/upload-url", headers=bearer(token),
                                          json={"content_type": "image/jpeg", "size": len(data)})
                claim = keys.upload_claim(int(grant.json()["post_id"]))

                async def body() -> AsyncIterator[bytes]:
                    yield data[:100]
                    with trio.fail_after(10):  # until the server has claimed the URL
                        while not await redis.exists([claim]):  # noqa: ASYNC110 - another process's state
                            await trio.sleep(0.01)
                    try:
                        await redis.shutdown(PureToken.NOSAVE)
                    except RedisError:
                        pass  # the server hung up on its way down
                    yield data[100:]

                with trio.fail_after(30):
                    put = await client.put(grant.json()["upload_url"], content=body(),
                                           headers={"Content-Type": "image/jpeg",
                                                    "Content-Length": str(len(data))})
                assert_error(put, 503, "unavailable")
                assert put.headers["Retry-After"] == "1"
