"""The websocket protocol core without a socket: bytes from a wsproto client in, frames
and bytes to send out; pongs answer the latest ping only, closes are sent once, oversized
messages close with 1009, and every frame that is not a whole message is handed up."""

from __future__ import annotations

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Message,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import FrameProtocol

from pixtrio.protocol.messages import CloseCode
from pixtrio.protocol.websocket import (
    Frame,
    SocketClosed,
    WebsocketCore,
    encode_frame,
    read_upgrade,
)


class Client:
    """A wsproto client talking to a core through plain bytes."""

    def __init__(self) -> None:
        self.ws = WSConnection(ConnectionType.CLIENT)

    def open(self, early: bytes = b"", *, max_message_bytes: int = 1000) -> WebsocketCore:
        ws, _, after_head = read_upgrade(
            self.ws.send(Request(host="pixtrio.test", target="/ws")) + early)
        core = WebsocketCore(ws, max_message_bytes=max_message_bytes)
        core.accept(None, after_head)
        assert isinstance(self.read(core)[0], AcceptConnection)
        return core

    def read(self, core: WebsocketCore, limit: int | None = None) -> list[Event]:
        """What a socket taking `limit` bytes (all when None) of what `core` has queued
        would send now, as the client parses it."""
        data = b"".join(bytes(chunk) for chunk in core.to_send())[:limit]
        core.sent(len(data))
        self.ws.receive_data(data)
        return list(self.ws.events())

    def frames(self, *events: Event) -> bytes:
        return b"".join(self.ws.send(event) for event in events)


def post(core: WebsocketCore, frame: str) -> bytes:
    """The bytes of `frame`, posted with nothing queued ahead of it."""
    data = core.post(frame)
    assert data is not None
    return data


def received(core: WebsocketCore) -> list[str | bytes | Frame]:
    """The frames `next_received` hands up from the data received so far."""
    frames = []
    while (frame := core.next_received()) is not None:
        frames.append(frame)
    return frames


def test_frames_use_the_shortest_length_header() -> None:
    assert encode_frame("hi") == b"\x81\x02hi"
    assert encode_frame(b"x" * 200)[:4] == b"\x82\x7e\x00\xc8"
    assert encode_frame(b"x" * 70000)[:10] == b"\x82\x7f" + (70000).to_bytes(8, "big")


def test_pings_queue_one_pong_with_the_latest_payload() -> None:
    client = Client()
    core = client.open()
    assert core.unsent(post(core, "before"), 0) == 1  # the socket took none of it
    core.receive_data(client.frames(*(Ping(str(n).encode()) for n in range(1000))))
    pings = received(core)
    assert pings == [Frame(ping=str(n).encode()) for n in range(1000)]
    assert [core.pong(frame.ping or b"") for frame in pings] == [2] * 1000
    events = client.read(core)
    assert events == [TextMessage("before"), Pong(b"999")]


def test_a_pong_partly_sent_is_finished_and_the_next_ping_gets_its_own() -> None:
    client = Client()
    core = client.open()
    core.pong(b"first")
    assert client.read(core, limit=3) == []  # the socket took part of the pong
    assert core.pong(b"second") == 2
    assert core.pong(b"third") == 2
    assert client.read(core) == [Pong(b"first"), Pong(b"third")]
    assert core.queued == 0


def test_a_client_close_is_echoed_once_and_ends_sending() -> None:
    client = Client()
    core = client.open()
    core.receive_data(client.frames(CloseConnection(code=1000)))
    with pytest.raises(SocketClosed):
        core.next_received()
    with pytest.raises(SocketClosed):
        core.post("too late")
    with pytest.raises(SocketClosed):
        core.pong(b"too late")
    core.close(CloseCode.TOO_SLOW)  # the close was received: nothing more goes out
    assert client.read(core) == [CloseConnection(code=1000, reason="")]


def test_closing_keeps_a_partly_sent_frame_and_drops_whole_ones() -> None:
    client = Client()
    core = client.open()
    assert core.unsent(post(core, "frame 0"), 0) == 1
    for n in range(1, 5):
        assert core.post(f"frame {n}") is None  # queued behind the first
    core.pong(b"p")
    events = client.read(core, limit=3)  # "frame 0" partly sent
    core.close(CloseCode.TOO_SLOW)
    core.close(CloseCode.RATE_LIMITED)  # sent once: the first reason stands
    events += client.read(core)
    assert "".join(e.data for e in events if isinstance(e, TextMessage)) == "frame 0"
    assert [e for e in events if not isinstance(e, TextMessage)] == [
        CloseConnection(code=CloseCode.TOO_SLOW, reason="")]


def test_a_message_over_the_limit_closes_1009_and_is_not_handed_up() -> None:
    client = Client()
    core = client.open(max_message_bytes=1000)
    core.receive_data(client.frames(Message(data=b"a" * 600, message_finished=False),
                                    Message(data=b"b" * 600, message_finished=True)))
    assert core.next_received() == Frame()  # the first fragment counts
    with pytest.raises(SocketClosed):
        core.next_received()
    assert client.read(core) == [CloseConnection(code=CloseCode.TOO_LARGE, reason="")]


def test_every_fragment_ping_and_pong_is_counted_and_messages_are_joined() -> None:
    client = Client()
    core = client.open()
    core.receive_data(client.frames(Message(data="hel", message_finished=False),
                                    Ping(b"are you there"),
                                    Message(data="l", message_finished=False),
                                    Message(data="o", message_finished=True),
                                    Pong(b"unasked"),
                                    Message(data=b"\x00\x01", message_finished=True)))
    assert received(core) == [Frame(), Frame(ping=b"are you there"), Frame(), "hello", Frame(),
                              b"\x00\x01"]


def test_a_frame_split_across_reads_is_handed_up_once_whole() -> None:
    client = Client()
    core = client.open()
    data = client.frames(Message(data="x" * 300))
    core.receive_data(data[:100])
    assert core.next_received() is None  # needs more
    core.receive_data(data[100:])
    assert received(core) == ["x" * 300]


def test_frames_sent_with_the_upgrade_request_come_first() -> None:
    client = Client()
    protocol = FrameProtocol(client=True, extensions=[])
    core = client.open(protocol.ping(b"early") + protocol.send_data("x"))
    assert received(core) == [Frame(ping=b"early"), "x"]


def test_a_refused_upgrade_gets_its_status_and_no_frames() -> None:
    client = Client()
    ws, _, _ = read_upgrade(client.ws.send(Request(host="pixtrio.test", target="/ws")))
    core = WebsocketCore(ws, max_message_bytes=1000)
    core.refuse(403)
    events = client.read(core)
    assert isinstance(events[0], RejectConnection) and events[0].status_code == 403
    with pytest.raises(SocketClosed):
        core.post("x")


def test_a_frame_posted_with_nothing_queued_goes_out_at_once_and_its_rest_stays_first() -> None:
    client = Client()
    core = client.open()
    data = post(core, "first")
    assert core.queued == 0  # the caller writes it
    assert core.unsent(data, 2) == 1  # the socket took two bytes
    assert core.post("second") is None
    client.ws.receive_data(data[:2])
    assert client.read(core) == [TextMessage("first"), TextMessage("second")]
