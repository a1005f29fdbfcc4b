"""The HTTP edge under awkward clients: keep-alive with late bodies, requests framed two
ways, doubled slashes, and schema fuzzing."""

from __future__ import annotations

import json
import sys
from urllib.parse import urlsplit

import httpx
import pytest
import trio

from pixtrio.testing.server_process import ServerProcess
from tests.support.api import register


async def read_response(stream: trio.SocketStream, buffer: bytearray) -> bytes:
    """One HTTP/1.1 response (Content-Length framed) from `stream`."""
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive_some(65536)
    head = bytes(buffer).partition(b"\r\n\r\n")[0]
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    # everything read stays in `buffer`: the next response may already be in it
    while len(buffer) < len(head) + 4 + length:
        buffer += await stream.receive_some(65536)
    del buffer[: len(head) + 4 + length]
    return head.split(b"\r\n")[0]


async def test_keep_alive_survives_a_body_sent_after_the_headers(live_server: ServerProcess) -> None:
    """A 401 must not be answered before the body arrives, or the next request can stall."""
    url = urlsplit(live_server.url)
    body = b'{"bio": null}'
    request = (b"PATCH /api/me HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body))
    with trio.fail_after(10):
        stream = await trio.open_tcp_stream(url.hostname or "127.0.0.1", url.port or 80)
        async with stream:
            buffer = bytearray()
            for _ in range(3):
                await stream.send_all(request)
                await trio.sleep(0.05)
                # the rest of this body and the next request in one TCP write
                await stream.send_all(body + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert (await read_response(stream, buffer)).endswith(b"401 ")
                assert (await read_response(stream, buffer)).endswith(b"200 ")


SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
FRAMED_TWICE = (b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n\r\n0\r\n\r\n" % len(SMUGGLED))
"""A proxy reading the Content-Length would see one request; read as chunked, its body
ends early and SMUGGLED would be a second one."""


async def until_closed(stream: trio.SocketStream) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = bytearray()
    while chunk := await stream.receive_some(65536):
        received += chunk
    return bytes(received)


async def test_a_request_framed_two_ways_is_refused_and_the_connection_closed(
        live_server: ServerProcess) -> None:
    """RFC 9112 §6.1: a 400, then the connection is closed, so the bytes after the chunked
    body are never served, whether the request comes first on its connection (read by the
    listener) or later on a kept-alive one (read by hypercorn)."""
    url = urlsplit(live_server.url)
    with trio.fail_after(10):
        for earlier in (b"", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"):
            stream = await trio.open_tcp_stream(url.hostname or "127.0.0.1", url.port or 80)
            async with stream:
                buffer = bytearray()
                if earlier:
                    await stream.send_all(earlier)
                    assert (await read_response(stream, buffer)).endswith(b"200 ")
                await stream.send_all(FRAMED_TWICE + SMUGGLED)
                answer = bytes(buffer) + await until_closed(stream)
            assert answer.startswith(b"HTTP/1.1 400 "), answer
            assert answer.count(b"HTTP/1.1 ") == 1, answer  # SMUGGLED got no answer
            head, _, body = answer.partition(b"\r\n\r\n")
            assert b"connection: close" in head.lower()
            assert json.loads(body)["error"]["code"] == "malformed_request"


async def test_doubled_slashes_are_a_json_404_not_a_redirect(live_server: ServerProcess) -> None:
    """No redirect is built from the Host header, and no error is HTML."""
    async with httpx.AsyncClient() as client:  # no base URL: "//api" is not a host here
        for target in ("/media//p/1", "//api/posts/1", "/api//feed", "/api/users//posts"):
            answer = await client.get(live_server.url + target, headers={"Host": "attacker.example"})
            assert answer.request.url.raw_path == target.encode()
            assert answer.status_code == 404, (target, answer.status_code)
            assert "location" not in answer.headers
            assert answer.headers["content-type"].startswith("application/json")
            assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.timeout(660)  # its own bound below, past the suite's default
async def test_schemathesis_finds_no_server_errors(live_server: ServerProcess) -> None:
    """Fuzz every documented operation from the OpenAPI spec: no answer may be a 5xx, and
    each must be one the operation documents, in the documented shape."""
    async with httpx.AsyncClient(base_url=live_server.url) as client:
        token, _ = await register(client)
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{live_server.url}/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance,response_schema_conformance",
        "--max-examples", "25", "--seed", "20261125",
        "--request-timeout", "10", "--header", f"Authorization: Bearer {token}",
        # logging out would revoke the token the rest of the run signs in with
        "--exclude-path", "/api/auth/logout", "--no-color",
    ]
    with trio.fail_after(600):
        result = await trio.run_process(command, capture_stdout=True, capture_stderr=True, check=False)
    output = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    assert result.returncode == 0, output[-6000:]
    assert "generated" in output and " passed" in output
