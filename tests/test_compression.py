"""JSON answers are gzipped for clients that accept it, and only those, and only when big."""

from __future__ import annotations

import gzip
import json

import httpx

from tests.support.api import register


async def test_big_json_answers_are_gzipped_for_clients_that_accept_it(
        client: httpx.AsyncClient) -> None:
    spec_gzip = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec_gzip.status_code == 200
    assert spec_gzip.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in spec_gzip.headers["vary"]
    sent = int(spec_gzip.headers["content-length"])
    assert sent * 4 < len(spec_gzip.content)  # httpx decoded it; the wire carried much less
    assert json.loads(spec_gzip.content)["info"]["title"] == "Pixtrio API"

    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["vary"]
    assert plain.content == spec_gzip.content
    refused = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers

    raw = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    async with client.stream("GET", "/openapi.json", headers={"Accept-Encoding": "gzip"}) as streamed:
        wire = b"".join([chunk async for chunk in streamed.aiter_raw()])
    assert gzip.decompress(wire) == raw.content


async def test_small_answers_and_errors_go_as_they_are(client: httpx.AsyncClient) -> None:
    token, user = await register(client)
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {token}",
                                              "Accept-Encoding": "gzip"})
    assert me.status_code == 200 and "content-encoding" not in me.headers
    assert me.json()["user_id"] == user["user_id"]
    missing = await client.get("/api/users/nobody_here", headers={"Accept-Encoding": "gzip"})
    assert missing.status_code == 404 and "content-encoding" not in missing.headers
    assert missing.json()["error"]["code"] == "not_found"
    head = await client.head("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in head.headers
