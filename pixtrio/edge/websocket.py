"""`/ws`: the listener hands over each websocket upgrade request, and this answers it
and runs its SessionActor on a `WireSocket`.

The first offered subprotocol we speak is chosen (JSON when none is offered; 403 when only
unknown ones are). A Bearer header signs in during the upgrade (a bad one is accepted,
then closed with 4001); `?since=` is the resume position.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

import trio
from wsproto.events import Request

from pixtrio.actors.session import SessionActor, SignedIn, SocketClosed
from pixtrio.edge.auth import parse_bearer
from pixtrio.edge.realtime import Realtime
from pixtrio.edge.wire import CLOSE_WAIT, WireSocket
from pixtrio.protocol.codecs import JSON, negotiate
from pixtrio.protocol.messages import MAX_FRAME_BYTES, CloseCode
from pixtrio.protocol.websocket import HandshakeError, read_upgrade
from pixtrio.storage.errors import StorageError

PATH = b"/ws"

BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def is_upgrade(head: bytes) -> bool:
    """Whether a complete request head asks for a websocket at `/ws`."""
    end = head.find(b"\r\n\r\n")
    if end < 0:
        return False
    request_line, *lines = head[:end].split(b"\r\n")
    method, _, rest = request_line.partition(b" ")
    target = rest.partition(b" ")[0]
    if method != b"GET" or target.partition(b"?")[0] != PATH:
        return False
    for line in lines:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and value.strip().lower() == b"websocket":
            return True
    return False


class WebsocketEndpoint:
    def __init__(self, realtime: Realtime) -> None:
        self._realtime = realtime

    async def serve(self, sock: socket.socket, head: bytes) -> None:
        """Answer the upgrade request in `head` on `sock` (non-blocking, now ours) and run
        the session until it ends; the socket is closed on return, also when cancelled."""
        try:
            ws, request, early = read_upgrade(head)
        except HandshakeError:
            try:
                sock.send(BAD_REQUEST)
            except OSError:
                pass
            sock.close()
            return
        wire = WireSocket(sock, ws, max_message_bytes=MAX_FRAME_BYTES)
        try:
            session = await self._open(wire, request, early)
            if session is not None:
                await session.run()  # closes the socket with the session's reason
        except SocketClosed:
            pass
        finally:
            with trio.move_on_after(CLOSE_WAIT, shield=True):
                # 4001 reaches only a client whose Bearer token was refused: a session
                # has closed the socket itself, a refused upgrade gets no close frame
                await wire.close(CloseCode.UNAUTHENTICATED)

    async def _open(self, wire: WireSocket, request: Request, early: bytes) -> SessionActor | None:
        """Accept (or refuse) the upgrade; the session to run, or None when the request
        was refused or its Bearer token is not valid."""
        offered = list(request.subprotocols)
        codec = negotiate(offered) if offered else JSON
        if codec is None:
            wire.refuse(403)
            return None
        realtime = self._realtime
        signed_in: SignedIn | None = None
        token = parse_bearer(_header(request.extra_headers, b"authorization"))
        if token is not None:
            try:
                signed_in = await realtime.sign_in(token)
            except StorageError:
                signed_in = None
        wire.accept(codec.name if offered else None, early)
        if token is not None and signed_in is None:
            return None
        since = parse_qs(urlsplit(request.target).query).get("since")
        return SessionActor(wire, codec, realtime.hub, realtime.events, realtime.sign_in,
                       realtime.still_signed_in, realtime.settings, signed_in=signed_in,
                       since=since[0] if since else None, screen=realtime.screen)


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None
