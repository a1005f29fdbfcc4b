"""The websocket wire layer on real sockets: frames written at once or queued when the
kernel's buffer is full, in order either way; fragmented and oversized messages, pings and
closes; a peer that never stops sending; and the listener's split of one port between `/ws`
and hypercorn."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import trio
import trio.testing
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
from wsproto.frame_protocol import FrameProtocol

from pixtrio.actors.session import Frame, SocketClosed
from pixtrio.edge.listener import read_head
from pixtrio.edge.websocket import is_upgrade
from pixtrio.edge.wire import WireSocket
from pixtrio.protocol.messages import CloseCode
from pixtrio.protocol.websocket import HandshakeError, read_upgrade
from tests.support.flood import Firehose, ping_frames


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
def connected(*, send_buffer: int | None = None, early: bytes = b"",
              **request: object) -> Iterator[tuple[WireSocket, Client]]:
    """An accepted WireSocket and its client, over a socket pair; `early` is sent right
    behind the upgrade request."""
    server_sock, client_sock = socket.socketpair()
    server_sock.setblocking(False)
    client_sock.setblocking(False)
    if send_buffer is not None:
        server_sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
        client_sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, send_buffer)
    client = Client(client_sock)
    ws, _, after_head = read_upgrade(client.handshake(**request) + early)
    wire = WireSocket(server_sock, ws, max_message_bytes=1000)
    wire.accept(None, after_head)
    try:
        yield wire, client
    finally:
        client_sock.close()
        server_sock.close()


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


async def test_fragments_are_joined_and_every_other_frame_is_handed_up() -> None:
    with connected() as (wire, client):
        await client.read_until(AcceptConnection)
        client.send(Message(data="hel", message_finished=False))
        client.send(Ping(b"are you there"))
        client.send(Message(data="lo", message_finished=True))
        client.send(Pong(b"unasked"))
        client.send(Message(data=b"\x00\x01", message_finished=True))
        received = [await wire.receive() for _ in range(5)]
        assert received == [Frame(), Frame(ping=b"are you there"), "hello", Frame(), b"\x00\x01"]
        assert wire.pong(b"are you there") == 0  # answered by whoever reads
        events = await client.read_until(Pong)
        assert [e.payload for e in events if isinstance(e, Pong)] == [b"are you there"]


async def test_frames_sent_with_the_upgrade_request_are_received() -> None:
    early = ping_frames(2, b"early") + FrameProtocol(client=True, extensions=[]).send_data("x")
    with connected(early=early) as (wire, _):
        with trio.fail_after(5):
            assert [await wire.receive() for _ in range(3)] == [Frame(ping=b"early")] * 2 + ["x"]


async def test_only_the_latest_unsent_pong_is_kept() -> None:
    with connected(send_buffer=8192) as (wire, client):
        await client.read_until(AcceptConnection)
        while (queued := wire.post("q" * 1000)) < 3:
            pass
        assert [wire.pong(str(n).encode()) for n in range(50)] == [queued + 1] * 50
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wire.write_posted)
            events = await client.read_until(Pong)
            nursery.cancel_scope.cancel()
        assert [e.payload for e in events if isinstance(e, Pong)] == [b"49"]
        assert isinstance(events[-1], Pong)  # behind the frames queued before it
        assert wire.pong(b"again") == 0


async def test_receive_checkpoints_on_every_frame_that_is_already_there() -> None:
    with connected() as (wire, client):
        await client.read_until(AcceptConnection)
        client.sock.sendall(ping_frames(300) + client.ws.send(Message(data="done")))
        frames = 0
        while True:
            with trio.testing.assert_checkpoints():
                received = await wire.receive()
            if received == "done":
                break
            assert received == Frame(ping=b"p" * 125)
            frames += 1
        assert frames == 300


async def test_a_message_over_the_limit_closes_1009() -> None:
    with connected() as (wire, client):
        await client.read_until(AcceptConnection)
        client.send(Message(data=b"a" * 600, message_finished=False))
        client.send(Message(data=b"b" * 600, message_finished=True))
        assert await wire.receive() == Frame()  # the first fragment
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


async def test_closing_lets_go_of_a_client_that_keeps_sending() -> None:
    """The client's close frame may never come; what it sends meanwhile is read and
    dropped for `CLOSE_WAIT` s, not for as long as it keeps sending."""
    server_sock, client_sock = socket.socketpair()
    client = Client(client_sock)
    ws, _, _ = read_upgrade(client.handshake())
    firehose = Firehose(server_sock.detach(), b"\x89\x00" * 1000, limit=10**7)
    with firehose, client_sock:
        firehose.setblocking(False)
        wire = WireSocket(firehose, ws, max_message_bytes=1000)
        wire.accept(None)
        await wire.close(CloseCode.RATE_LIMITED)
        assert 0 < firehose.left < 10**7  # it read, then gave up before the client did
        events = await client.read_until(CloseConnection)
        assert [e.code for e in events if isinstance(e, CloseConnection)] == [4029]


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
