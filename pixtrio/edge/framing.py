"""Request framing: a request that says how long its body is in two ways is refused.

With both `Transfer-Encoding: chunked` and `Content-Length`, h11 reads the chunked body
while a proxy in front may read the Content-Length one; whatever lies between the two ends
is a second request to one of them and a body to the other. RFC 9112 §6.1: answer, then
close the connection, so those bytes are never read as a request here.
"""

from __future__ import annotations

import json
from typing import Any

import trio

from pixtrio.edge.streaming import ASGIApp, Receive, Scope, Send

DRAIN_LIMIT = 1024 * 1024
BODY = json.dumps({"error": {
    "code": "malformed_request",
    "message": "a request may carry Transfer-Encoding or Content-Length, not both",
}}).encode()


class SingleFraming:
    """ASGI layer in front of every HTTP route: a doubly framed request gets a 400 with
    `Connection: close` (which makes hypercorn close the connection once it is sent), and
    the app never sees it; every other request passes untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _framed_twice(scope["headers"]):
            await _drain(receive)
            await send({
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(BODY)).encode()),
                            (b"connection", b"close")],
            })
            await send({"type": "http.response.body", "body": BODY})
            return
        await self._app(scope, receive, send)


async def _drain(receive: Receive) -> None:
    """Read the body (up to `DRAIN_LIMIT` bytes) before answering, then let hypercorn's
    reader pause: an answer that closes the connection while h11 is still parsing the
    request makes h11 refuse the bytes after it, and hypercorn then drops the answer."""
    received = 0
    while received <= DRAIN_LIMIT:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            break
        received += len(message.get("body", b""))
    await trio.lowlevel.checkpoint()


def _framed_twice(headers: Any) -> bool:
    names = {bytes(name).lower() for name, _ in headers}
    return b"transfer-encoding" in names and b"content-length" in names
