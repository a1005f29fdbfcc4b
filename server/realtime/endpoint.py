"""`/ws` served straight from ASGI, in front of the Quart app: each socket is one Session.

Quart's websocket layer would add a request context and queues per socket; this layer
speaks hypercorn's ASGI websocket messages directly, which keeps a session small. Frame
size is capped by hypercorn (`websocket_max_message_size`, close 1009).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from protocol.codecs import JSON, negotiate
from storage.errors import StorageError

from ..auth import parse_bearer
from ..streaming import header
from . import Realtime
from .session import Session, SignedIn, SocketClosed

Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]

PATH = "/ws"


class AsgiSocket:
    """`Socket` over hypercorn's ASGI websocket events."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self._closed = False

    async def receive(self) -> str | bytes:
        while True:
            message = await self._receive()
            if message["type"] == "websocket.receive":
                text = message.get("text")
                return text if text is not None else bytes(message.get("bytes") or b"")
            if message["type"] == "websocket.disconnect":
                self._closed = True
                raise SocketClosed

    async def send(self, frame: str | bytes) -> None:
        if self._closed:
            raise SocketClosed
        key = "text" if isinstance(frame, str) else "bytes"
        try:
            await self._send({"type": "websocket.send", key: frame})
        except Exception as exc:  # hypercorn raises its own errors once the peer has gone
            self._closed = True
            raise SocketClosed from exc

    async def close(self, code: int) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._send({"type": "websocket.close", "code": code})
        except Exception:  # noqa: S110 - the peer is gone either way
            pass


class WebsocketEndpoint:
    def __init__(self, app: ASGIApp, realtime: Realtime) -> None:
        self._app = app
        self._realtime = realtime

    async def __call__(self, scope: Any, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == PATH:
            return await self._serve(scope, receive, send)
        await self._app(scope, receive, send)

    async def _serve(self, scope: Any, receive: Receive, send: Send) -> None:
        """Accept with the first offered subprotocol we speak (JSON when none is offered;
        refused when only unknown ones are), sign in by Bearer header if present, then
        run the session until it ends."""
        if (await receive())["type"] != "websocket.connect":
            return
        offered = list(scope.get("subprotocols") or [])
        codec = negotiate(offered) if offered else JSON
        if codec is None:
            await send({"type": "websocket.close", "code": 1002})
            return
        realtime = self._realtime
        signed_in: SignedIn | None = None
        token = parse_bearer(header(scope, b"authorization"))
        if token is not None:
            try:
                signed_in = await realtime.sign_in(token)
            except StorageError:
                signed_in = None
        await send({"type": "websocket.accept", "subprotocol": codec.name if offered else None})
        socket = AsgiSocket(receive, send)
        if token is not None and signed_in is None:
            await socket.close(4001)
            return
        since = parse_qs(bytes(scope.get("query_string") or b"").decode("latin-1")).get("since")
        session = Session(socket, codec, realtime.hub, realtime.events, realtime.sign_in,
                          realtime.settings, signed_in=signed_in,
                          since=since[0] if since else None)
        await session.run()
