"""A server-side websocket on a non-blocking socket that the session owns outright.

`post` writes a frame straight into the kernel's send buffer when nothing is queued ahead
of it, so delivering an event costs no task switch; what the socket does not take at once
is queued (whole frames, the first maybe partly written) for `write_posted`, the session's
writer, which waits until the socket is writable.

Inbound frames are parsed by wsproto one at a time, as `receive` is called: messages are
reassembled (at most `max_message_bytes`; larger closes with 1009), and every other frame
(a ping, a pong, a fragment) is handed up as a `Frame`, so that the session counts it
against its inbound rate and decides on the pong. `receive` checkpoints once a frame, so a
peer that keeps the socket full never holds the scheduler. A client's close is echoed here.
"""

from __future__ import annotations

import socket
import struct
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from typing import NoReturn

import trio
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

from pixtrio.actors.session import Frame, SocketClosed
from pixtrio.protocol.messages import CloseCode

RECEIVE_BYTES = 65536
GATHER = 64
"""Queued frames handed to one `sendmsg`."""
CLOSE_WAIT = 2.0
"""How long a closing socket waits for the client's close frame before hanging up."""
_OTHER_FRAME = Frame()
_NO_EVENTS: Iterator[Event] = iter(())


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
    sent after the head (frames, for `WireSocket.accept`: wsproto's server drops them)."""
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


class WireSocket:
    """`Socket` for one accepted websocket; `sock` is non-blocking and ours to close."""

    def __init__(self, sock: socket.socket, ws: WSConnection, *, max_message_bytes: int) -> None:
        self._sock = sock
        self._ws = ws
        self._max_message_bytes = max_message_bytes
        self._queue: deque[bytes | bytearray | memoryview] = deque()
        self._pong: bytearray | None = None  # a queued pong not yet started
        self._posted = trio.Event()
        self._events = _NO_EVENTS  # wsproto's events for the data received last
        self._parts: list[str | bytes] = []
        self._part_bytes = 0
        self._closed = False  # a close frame was sent or received: no more frames
        self._eof = False  # no more messages will be received

    def accept(self, subprotocol: str | None, early: bytes = b"") -> None:
        """Answer the upgrade request (101); `early` is what the client sent after its
        request head, frames that `receive` returns first."""
        self._post_raw(self._ws.send(AcceptConnection(subprotocol=subprotocol)))
        if early:
            self._ws.receive_data(early)
        self._events = self._ws.events()

    def refuse(self, status: int) -> None:
        """Answer the upgrade request with `status` and no body; the socket is done."""
        self._post_raw(self._ws.send(RejectConnection(status_code=status)))
        self._closed = True

    # sending

    def post(self, frame: str | bytes) -> int:
        """Write `frame` now if nothing is queued ahead of it and the kernel takes it, else
        queue it; never waits. Returns the frames still queued (SocketClosed once closed)."""
        if self._closed:
            raise SocketClosed
        return self._post_raw(encode_frame(frame))

    def pong(self, payload: bytes) -> int:
        """Answer a ping (`payload`: at most 125 bytes) like `post`, except that a pong
        queued and not yet started is replaced, not joined: RFC 6455 lets a pong answer the
        latest ping only, so pings never queue more than one. Returns the frames queued."""
        if self._closed:
            raise SocketClosed
        frame = bytearray((0x8A, len(payload))) + payload  # FIN, pong
        if self._pong is not None:
            self._pong[:] = frame
            return len(self._queue)
        queued = self._post_raw(frame)
        if queued and self._queue[-1] is frame:
            self._pong = frame
        return queued

    def _post_raw(self, data: bytes | bytearray) -> int:
        queue = self._queue
        if not queue:
            try:
                sent = self._sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self._hang_up()
                raise SocketClosed from None
            if sent == len(data):
                return 0
            if sent:
                data = memoryview(data)[sent:]  # type: ignore[assignment]
        queue.append(data)
        self._posted.set()
        return len(queue)

    async def write_posted(self) -> NoReturn:
        """The writer: write queued frames whenever the socket can take them, forever.
        Raises SocketClosed once the peer has gone."""
        while True:
            if not self._queue:
                if self._sock.fileno() == -1:
                    raise SocketClosed
                self._posted = trio.Event()
                await self._posted.wait()
                continue
            await self._wait(trio.lowlevel.wait_writable)
            self._write_queued()

    def _write_queued(self) -> None:
        """Write what the socket takes now of the queue, without waiting."""
        queue = self._queue
        while queue:
            batch = [queue[i] for i in range(min(GATHER, len(queue)))]
            try:
                sent = self._sock.sendmsg(batch)
            except BlockingIOError:
                return
            except OSError:
                self._hang_up()
                raise SocketClosed from None
            pong = self._pong
            for chunk in batch:
                if sent < len(chunk):
                    if sent:
                        queue[0] = memoryview(chunk)[sent:]
                        if chunk is pong:
                            self._pong = None  # started: a later ping gets a pong of its own
                    return
                sent -= len(chunk)
                queue.popleft()
                if chunk is pong:
                    self._pong = None

    # receiving

    async def receive(self) -> str | bytes | Frame:
        """The next message, or a `Frame` for a ping, a pong or each finished fragment of
        a message; checkpoints before each. SocketClosed once the peer has closed or gone."""
        while True:
            if self._eof:
                raise SocketClosed
            event = next(self._events, None)
            if event is None:
                self._events = _NO_EVENTS
                await self._receive_data()
                continue
            await trio.lowlevel.checkpoint()  # the next event may already be parsed
            received = self._handle(event)
            if received is not None:
                return received

    async def _receive_data(self) -> None:
        """Hand what the socket holds to wsproto, or wait until it holds something."""
        if self._sock.fileno() == -1:
            raise SocketClosed
        try:
            data = self._sock.recv(RECEIVE_BYTES)
        except BlockingIOError:
            await self._wait(trio.lowlevel.wait_readable)
            return
        except OSError:
            raise SocketClosed from None
        if not data:
            raise SocketClosed
        self._ws.receive_data(data)
        self._events = self._ws.events()

    def _handle(self, event: Event) -> str | bytes | Frame | None:
        """What `receive` returns for `event`, or None when it is not yet a frame."""
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
                self._send_control(event.response())  # not after a hang-up: wsproto knows
        else:
            return _OTHER_FRAME  # a pong
        return None

    async def _wait(self, until: Callable[[socket.socket], Awaitable[None]]) -> None:
        """Wait until the socket is readable or writable; SocketClosed once hung up."""
        if self._sock.fileno() == -1:
            raise SocketClosed
        try:
            await until(self._sock)
        except trio.ClosedResourceError:
            raise SocketClosed from None

    # closing

    async def close(self, code: int) -> None:
        """Send a close frame with `code` unless one was sent or received (frames queued
        whole are dropped first), give the client `CLOSE_WAIT` s to read it and hang up
        its end, then hang up. Never raises."""
        try:
            if not self._closed:
                while len(self._queue) > 1:
                    self._queue.pop()
                self._send_close(code)
            with trio.move_on_after(CLOSE_WAIT):
                while self._queue:
                    await self._wait(trio.lowlevel.wait_writable)
                    self._write_queued()
                self._sock.shutdown(socket.SHUT_WR)
                while True:  # discard what the client still sends, until it hangs up
                    await trio.lowlevel.checkpoint()  # which it may do faster than we read
                    try:
                        if not self._sock.recv(RECEIVE_BYTES):
                            break
                    except BlockingIOError:
                        await self._wait(trio.lowlevel.wait_readable)
        except (SocketClosed, OSError):
            pass
        finally:
            self._hang_up()

    def _send_close(self, code: int) -> None:
        self._closed = True
        self._send_control(CloseConnection(code=code))

    def _send_control(self, event: Event) -> None:
        """Send a close, unless wsproto's state no longer allows it (a close
        was sent, received or the peer hung up) or the socket has gone."""
        try:
            self._post_raw(self._ws.send(event))
        except (LocalProtocolError, SocketClosed):
            pass

    def _hang_up(self) -> None:
        """Close the socket now; the reader and writer wake with SocketClosed."""
        if self._sock.fileno() == -1:
            return
        self._closed = self._eof = True
        self._queue.clear()
        self._posted.set()
        trio.lowlevel.notify_closing(self._sock)
        self._sock.close()
