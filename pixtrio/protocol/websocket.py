"""The websocket protocol of one server connection, with no I/O: bytes in, frames and
bytes to send out. The socket driver (`wire.py`) moves the bytes.

Inbound, `receive_data` hands wsproto what the socket read and `next_received` returns one
frame at a time: a whole message (reassembled, at most `max_message_bytes`; larger closes
with 1009), or a `Frame` for each ping, pong and finished fragment, so that every frame
counts against the session's inbound rate. A client's close is echoed.

Outbound, a frame posted with nothing queued ahead goes straight to the socket; the others
wait in order in a queue of byte chunks (`to_send`, then `sent` with what the socket took)
that grows only by frames the caller posts: control frames never add more
than one each, since a pong not yet started is replaced by the next one (RFC 6455 lets a
pong answer the latest ping only), a close is sent once, and closing drops whole frames
still queued.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from pixtrio.protocol.messages import CloseCode

GATHER = 64
"""Queued chunks handed out by one `to_send` (one `sendmsg`)."""
_NO_EVENTS: Iterator[Event] = iter(())


class SocketClosed(Exception):
    """The peer has gone (or the socket was closed)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """An inbound frame that is not a whole message: a websocket ping (`ping` is its
    payload, to echo in the pong), a pong, or a fragment of a message."""

    ping: bytes | None = None


_OTHER_FRAME = Frame()


def encode_frame(frame: str | bytes) -> bytes:
    """One unmasked, unfragmented server frame: text for `str`, binary for `bytes`."""
    if isinstance(frame, str):
        payload, first = frame.encode(), 0x81
    else:
        payload, first = frame, 0x82
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


class HandshakeError(Exception):
    """The upgrade request is not a websocket handshake."""


def read_upgrade(head: bytes) -> tuple[WSConnection, Request, bytes]:
    """Parse an upgrade request head into wsproto's state; also returns what the client
    sent after the head (frames, for `WebsocketCore.accept`: wsproto's server drops them)."""
    end = head.find(b"\r\n\r\n")
    head, early = (head, b"") if end < 0 else (head[:end + 4], head[end + 4:])
    ws = WSConnection(ConnectionType.SERVER)
    try:
        ws.receive_data(head)
        for event in ws.events():
            if isinstance(event, Request):
                return ws, event, early
    except RemoteProtocolError as exc:
        raise HandshakeError(str(exc)) from None
    raise HandshakeError("incomplete upgrade request")


class WebsocketCore:
    """One upgraded connection's protocol state, wrapping wsproto's `ws` (a handshake
    already read by `read_upgrade`)."""

    def __init__(self, ws: WSConnection, *, max_message_bytes: int) -> None:
        self._ws = ws
        self._max_message_bytes = max_message_bytes
        self._queue: deque[bytes | bytearray | memoryview] = deque()
        self._pong: bytearray | None = None  # a queued pong not yet started
        self._events = _NO_EVENTS  # wsproto's events for the data received last
        self._parts: list[str | bytes] = []
        self._part_bytes = 0
        self._closed = False  # a close frame was sent or received: no more frames
        self._eof = False  # no more frames will be received

    def accept(self, subprotocol: str | None, early: bytes = b"") -> None:
        """Queue the answer to the upgrade request (101); `early` is what the client sent
        after its request head, frames that `next_received` returns first."""
        self._queue.append(self._ws.send(AcceptConnection(subprotocol=subprotocol)))
        if early:
            self._ws.receive_data(early)
        self._events = self._ws.events()

    def refuse(self, status: int) -> None:
        """Queue an answer to the upgrade request with `status` and no body; no frames
        follow."""
        self._queue.append(self._ws.send(RejectConnection(status_code=status)))
        self._closed = True

    # sending

    @property
    def queued(self) -> int:
        """Chunks waiting to be sent (the first maybe partly sent)."""
        return len(self._queue)

    def post(self, frame: str | bytes) -> bytes | None:
        """`frame`'s bytes to write at once when nothing is queued ahead of it (hand back
        what the socket did not take to `unsent`), else None: it was queued behind the
        others. SocketClosed once closed."""
        if self._closed:
            raise SocketClosed
        data = encode_frame(frame)
        if not self._queue:
            return data
        self._queue.append(data)
        return None

    def unsent(self, data: bytes, sent: int) -> int:
        """The socket took `sent` bytes of `data` from `post`: the rest is queued. Returns
        the chunks queued."""
        if sent < len(data):
            self._queue.append(memoryview(data)[sent:] if sent else data)
        return len(self._queue)

    def pong(self, payload: bytes) -> int:
        """Queue a pong for a ping's `payload` (at most 125 bytes), replacing a pong
        queued and not yet started. Returns the chunks queued; SocketClosed once closed."""
        if self._closed:
            raise SocketClosed
        frame = bytearray((0x8A, len(payload))) + payload  # FIN, pong
        if self._pong is not None:
            self._pong[:] = frame
        else:
            self._pong = frame
            self._queue.append(frame)
        return len(self._queue)

    def to_send(self) -> list[bytes | bytearray | memoryview]:
        """The first queued chunks (at most `GATHER`), to hand to the socket in order."""
        queue = self._queue
        if len(queue) <= GATHER:
            return list(queue)
        return [queue[i] for i in range(GATHER)]

    def sent(self, count: int) -> int:
        """The socket took the first `count` bytes of `to_send`; returns the chunks still
        queued."""
        queue, pong = self._queue, self._pong
        while count:
            chunk = queue[0]
            if chunk is pong:
                self._pong = None  # started: a later ping gets a pong of its own
            if count < len(chunk):
                queue[0] = memoryview(chunk)[count:]
                break
            count -= len(chunk)
            queue.popleft()
        return len(queue)

    def close(self, code: int) -> None:
        """Drop the queued frames but the first (it may be partly sent) and queue a close
        frame with `code`, unless a close was sent or received."""
        if self._closed:
            return
        queue = self._queue
        while len(queue) > 1:
            if queue.pop() is self._pong:
                self._pong = None
        self._send_close(code)

    def hang_up(self) -> None:
        """The socket is gone: nothing more is sent or received."""
        self._closed = self._eof = True
        self._queue.clear()
        self._pong = None

    def _send_close(self, code: int) -> None:
        self._closed = True
        self._send_control(CloseConnection(code=code))

    def _send_control(self, event: Event) -> None:
        """Queue a close, unless wsproto's state no longer allows it (a close was sent or
        received, or the peer hung up)."""
        try:
            self._queue.append(self._ws.send(event))
        except LocalProtocolError:
            pass

    # receiving

    def receive_data(self, data: bytes) -> None:
        """Hand what the socket read to wsproto; call only when `next_received` says it
        needs more."""
        self._ws.receive_data(data)
        self._events = self._ws.events()

    def next_received(self) -> str | bytes | Frame | None:
        """The next message or `Frame` from the data received so far, or None when more
        is needed. SocketClosed once the peer has closed (its close is echoed) or a message
        grew too large (closed with 1009)."""
        while not self._eof:
            event = next(self._events, None)
            if event is None:
                self._events = _NO_EVENTS
                return None
            received = self._handle(event)
            if received is not None:
                return received
        raise SocketClosed

    def _handle(self, event: Event) -> str | bytes | Frame | None:
        """What `next_received` returns for `event`, or None when it is not yet a frame."""
        if isinstance(event, TextMessage | BytesMessage):
            data = event.data if isinstance(event.data, str) else bytes(event.data)
            self._parts.append(data)
            self._part_bytes += len(data.encode()) if isinstance(data, str) else len(data)
            if self._part_bytes > self._max_message_bytes:
                self._parts.clear()
                self._eof = True
                self._send_close(CloseCode.TOO_LARGE)
            elif event.message_finished:
                parts, self._parts, self._part_bytes = self._parts, [], 0
                return parts[0] if len(parts) == 1 else (
                    "".join(parts) if isinstance(data, str) else b"".join(parts))  # type: ignore[arg-type]
            elif event.frame_finished:
                return _OTHER_FRAME
        elif isinstance(event, Ping):
            return Frame(ping=bytes(event.payload))
        elif isinstance(event, CloseConnection):
            self._eof = True
            if not self._closed:
                self._closed = True
                self._send_control(event.response())
        else:
            return _OTHER_FRAME  # a pong
        return None
