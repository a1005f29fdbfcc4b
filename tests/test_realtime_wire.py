"""The websocket wire layer on real sockets: frames written at once or queued when the
kernel's buffer is full, in order either way; fragmented and oversized messages, pings and
closes; and the listener's split of one port between `/ws` and hypercorn."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from protocol.messages import CloseCode
from server.listener import read_head
from server.realtime.endpoint import is_upgrade
from server.realtime.session import SocketClosed
from server.realtime.wire import HandshakeError, WireSocket, encode_frame, read_upgrade


class Client:
    """The client end of a socket pair, speaking wsproto."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events: list[object] = []

    def handshake(self, **request: object) -> bytes:
        return self.ws.send(Request(host="pixtrio.test", target="/ws", **request))  # type: ignore[arg-type]

    def send(self, event: object) -> None:
        self.sock.sendall(self.ws.send(event))  # type: ignore[arg-type]

    async def read_until(self, done: type, *, within: float = 5) -> list[object]:
        """Events until one of type `done` (included)."""
        with trio.fail_after(within):
            while not any(isinstance(e, done) for e in self.events):
                await trio.lowlevel.wait_readable(self.sock)
                data = self.sock.recv(1 << 20)
                self.ws.receive_data(data or None)
                self.events.extend(self.ws.events())
        return self.events


@contextmanager
def connected(*, send_buffer: int | None = None, **request: object) -> Iterator[tuple[WireSocket, Client]]:
    """An accepted WireSocket and its client, over a socket pair."""
    server_sock, client_sock = socket.socketpair()
    server_sock.setblocking(False)
    client_sock.setblocking(False)
    if send_buffer is not None:
        server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        client_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, send_buffer)
    client = Client(client_sock)
    ws, _ = read_upgrade(client.handshake(**request))
    wire = WireSocket(server_sock, ws, max_message_bytes=1000)
    wire.accept(None)
    try:
        yield wire, client
    finally:
        client_sock.close()
        server_sock.close()


def test_frames_use_the_shortest_length_header() -> None:
    assert encode_frame("hi") == b"\x81\x02hi"
    assert encode_frame(b"x" * 200)[:4] == b"\x82\x7e\x00\xc8"
    assert encode_frame(b"x" * 70000)[:10] == b"\x82\x7f" + (70000).to_bytes(8, "big")


async def test_frames_the_kernel_does_not_take_are_queued_and_written_in_order() -> None:
    with connected(send_buffer=8192) as (wire, client):
        await client.read_until(AcceptConnection)
        sent = [f"{n:05d}" + "x" * 1000 for n in range(300)]
        queued = [wire.post(frame) for frame in sent]
        assert queued[0] == 0  # the first went straight out
        assert queued[-1] > 100  # the buffer filled up, so the rest waited in order
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wire.write_posted)
            received: list[str] = []
            part = ""
            with trio.fail_after(10):
                while len(received) < len(sent):
                    await trio.lowlevel.wait_readable(client.sock)
                    client.ws.receive_data(client.sock.recv(1 << 16))
                    for event in client.ws.events():
                        assert isinstance(event, TextMessage)
                        part += event.data
                        if event.message_finished:
                            received.append(part)
                            part = ""
            nursery.cancel_scope.cancel()
        assert received == sent
        assert wire.post("after") == 0  # drained: written at once again


async def test_fragments_are_joined_and_pings_answered() -> None:
    with connected() as (wire, client):
        await client.read_until(AcceptConnection)
        client.send(Message(data="hel", message_finished=False))
        client.send(Ping(b"are you there"))
        client.send(Message(data="lo", message_finished=True))
        client.send(Message(data=b"\x00\x01", message_finished=True))
        assert await wire.receive() == "hello"
        assert await wire.receive() == b"\x00\x01"
        events = await client.read_until(Pong)
        assert [e.payload for e in events if isinstance(e, Pong)] == [b"are you there"]


async def test_a_message_over_the_limit_closes_1009() -> None:
    with connected() as (wire, client):
        await client.read_until(AcceptConnection)
        client.send(Message(data=b"a" * 600, message_finished=False))
        client.send(Message(data=b"b" * 600, message_finished=True))
        with pytest.raises(SocketClosed):
            await wire.receive()
        events = await client.read_until(CloseConnection)
        assert [e.code for e in events if isinstance(e, CloseConnection)] == [CloseCode.TOO_LARGE]
        assert not any(isinstance(e, BytesMessage) for e in events)


async def test_a_client_close_is_echoed_and_ends_receiving() -> None:
    with connected() as (wire, client):
        await client.read_until(AcceptConnection)
        client.send(CloseConnection(code=1000))
        with pytest.raises(SocketClosed):
            await wire.receive()
        with pytest.raises(SocketClosed):
            wire.post("too late")
        events = await client.read_until(CloseConnection)
        assert [e.code for e in events if isinstance(e, CloseConnection)] == [1000]


async def test_closing_finishes_a_partly_written_frame_and_drops_queued_ones() -> None:
    with connected(send_buffer=4096) as (wire, client):
        await client.read_until(AcceptConnection)
        while wire.post("y" * 3000) < 5:
            pass
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wire.close, CloseCode.TOO_SLOW)
            events = await client.read_until(CloseConnection)  # reading lets the close out
            client.send(CloseConnection(code=CloseCode.TOO_SLOW))
        text = "".join(e.data for e in events if isinstance(e, TextMessage))
        assert text and text == "y" * len(text) and len(text) % 3000 == 0  # whole frames only
        assert [e.code for e in events if isinstance(e, CloseConnection)] == [CloseCode.TOO_SLOW]
        assert wire_closed(wire)


def wire_closed(wire: WireSocket) -> bool:
    try:
        wire.post("x")
    except SocketClosed:
        return True
    return False


async def test_a_peer_that_hangs_up_ends_the_writer_and_the_reader() -> None:
    with connected(send_buffer=4096) as (wire, client):
        while wire.post("z" * 3000) == 0:
            pass
        client.sock.close()
        with trio.fail_after(5):
            with pytest.raises(SocketClosed):
                await wire.write_posted()
            with pytest.raises(SocketClosed):
                await wire.receive()


def test_upgrade_requests_are_recognised_by_their_head() -> None:
    ws_head = (b"GET /ws?since=5-0 HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\n"
               b"Connection: Upgrade\r\n\r\n")
    assert is_upgrade(ws_head)
    assert not is_upgrade(ws_head[:-2])  # incomplete
    assert not is_upgrade(ws_head.replace(b"/ws?", b"/wsx?"))
    assert not is_upgrade(ws_head.replace(b"GET", b"POST"))
    assert not is_upgrade(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
    with pytest.raises(HandshakeError):
        read_upgrade(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")  # no key


async def test_a_request_head_is_read_across_several_packets() -> None:
    server_sock, client_sock = socket.socketpair()
    server_sock.setblocking(False)
    with server_sock, client_sock:
        async def trickle() -> None:
            for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\nbody"):
                await trio.sleep(0.05)
                client_sock.sendall(part)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trickle)
            head = await read_head(server_sock)
        assert head == b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nbody"
        client_sock.close()
        assert await read_head(server_sock) == b""
