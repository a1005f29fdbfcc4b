"""The socket driver of one server-side websocket: a non-blocking socket that the session
owns outright, moving bytes for its protocol core (`protocol/websocket.py`'s `WebsocketCore`).

`post` writes a frame straight into the kernel's send buffer when nothing is queued ahead
of it, so delivering an event costs no task switch; what the socket does not take at once
stays queued in the core for `write_posted`, the session's writer, which waits until the
socket is writable. The queue is bounded by the session: it ends with 4008 once `post`
reports more frames queued than its mailbox holds; pongs and closes never add more than one.

`receive` hands the core what the socket holds and returns its frames one at a time,
checkpointing once a frame, so a peer that keeps the socket full never holds the scheduler.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import NoReturn

import trio
from wsproto import WSConnection

from pixtrio.protocol.websocket import Frame, SocketClosed, WebsocketCore

RECEIVE_BYTES = 65536
CLOSE_WAIT = 2.0
"""How long a closing socket waits for the client's close frame before hanging up."""


class WireSocket:
    """`Socket` for one accepted websocket; `sock` is non-blocking and ours to close, `ws`
    the handshake's state from `protocol.websocket.read_upgrade`."""

    def __init__(self, sock: socket.socket, ws: WSConnection, *, max_message_bytes: int) -> None:
        self._sock = sock
        self._core = WebsocketCore(ws, max_message_bytes=max_message_bytes)
        self._posted = trio.Event()

    def accept(self, subprotocol: str | None, early: bytes = b"") -> None:
        """Answer the upgrade request (101); `early` is what the client sent after its
        request head, frames that `receive` returns first."""
        self._core.accept(subprotocol, early)
        self._send_queued()

    def refuse(self, status: int) -> None:
        """Answer the upgrade request with `status` and no body; the socket is done."""
        self._core.refuse(status)
        self._send_queued()

    # sending

    def post(self, frame: str | bytes) -> int:
        """Write `frame` now if nothing is queued ahead of it and the kernel takes it, else
        queue it; never waits. Returns the frames still queued (SocketClosed once closed)."""
        data = self._core.post(frame)
        if data is None:
            self._posted.set()
            return self._core.queued
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._hang_up()
            raise SocketClosed from None
        if sent == len(data):
            return 0
        self._posted.set()
        return self._core.unsent(data, sent)

    def pong(self, payload: bytes) -> int:
        """Answer a ping (`payload`: at most 125 bytes) like `post`, except that a pong
        queued and not yet started is replaced, not joined, so pings never queue more than
        one. Returns the frames queued."""
        queued = self._core.pong(payload)
        if queued == 1:  # nothing ahead of it
            return self._send_queued()
        self._posted.set()
        return queued

    async def write_posted(self) -> NoReturn:
        """The writer: write queued frames whenever the socket can take them, forever.
        Raises SocketClosed once the peer has gone."""
        while True:
            if not self._core.queued:
                if self._sock.fileno() == -1:
                    raise SocketClosed
                self._posted = trio.Event()
                await self._posted.wait()
                continue
            await self._wait(trio.lowlevel.wait_writable)
            self._send_queued()

    def _send_queued(self) -> int:
        """Write what the socket takes now of the queue, without waiting; returns the
        frames still queued. SocketClosed (and hung up) when the socket has gone."""
        core = self._core
        queued = core.queued
        while queued:
            chunks = core.to_send()
            try:
                sent = self._sock.send(chunks[0]) if queued == 1 else self._sock.sendmsg(chunks)
            except BlockingIOError:
                self._posted.set()
                break
            except OSError:
                self._hang_up()
                raise SocketClosed from None
            queued = core.sent(sent)
        return queued

    # receiving

    async def receive(self) -> str | bytes | Frame:
        """The next message, or a `Frame` for a ping, a pong or each finished fragment of
        a message; checkpoints before each. SocketClosed once the peer has closed or gone."""
        while True:
            try:
                received = self._core.next_received()
            except SocketClosed:
                self._send_queued()  # the echo of the client's close, or 1009
                raise
            if received is None:
                await self._receive_data()
                continue
            await trio.lowlevel.checkpoint()  # the next frame may already be parsed
            return received

    async def _receive_data(self) -> None:
        """Hand what the socket holds to the core, or wait until it holds something."""
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
        self._core.receive_data(data)

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
            self._core.close(code)
            with trio.move_on_after(CLOSE_WAIT):
                while self._send_queued():
                    await self._wait(trio.lowlevel.wait_writable)
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

    def _hang_up(self) -> None:
        """Close the socket now; the reader and writer wake with SocketClosed."""
        if self._sock.fileno() == -1:
            return
        self._core.hang_up()
        self._posted.set()
        trio.lowlevel.notify_closing(self._sock)
        self._sock.close()
