"""The SessionActor and the Hub in process: deadlines on trio's autojump clock (no real
sleeps), rate limits (websocket pings and pongs too), bad frames, a flood that must not hold
off the sign-in deadline, and a slow client that must not hold the others up."""

from __future__ import annotations

import socket as stdlib_socket
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
import trio.testing
from coredis import PureToken
from wsproto import ConnectionType, WSConnection
from wsproto.events import Request

from pixtrio.actors.hub import Hub
from pixtrio.actors.session import Frame, SessionActor, SessionSettings, SignedIn, SocketClosed
from pixtrio.edge.wire import WireSocket
from pixtrio.protocol.codecs import JSON, MSGPACK, Codec
from pixtrio.protocol.messages import Auth, CloseCode, Error, FeedInsert, Hello, Ping, Pong
from pixtrio.protocol.websocket import read_upgrade
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.bus import Bus
from pixtrio.storage.redis.events import BUCKETS, EventStreams, Replay
from pixtrio.storage.redis.lean import command
from pixtrio.storage.redis.session_tokens import Cached, SessionTokens, SessionUser
from pixtrio.testing.server_process import wait_until
from pixtrio.testing.valkey_cluster import ValkeyCluster, redis_clients
from tests.support.flood import Firehose, ping_frames

SETTINGS = SessionSettings(auth_timeout=10, ping_interval=25, ping_timeout=20, mailbox=8,
                           rate=5, burst=20)
ALICE = SessionUser(1, "alice", None)


class FakeSocket:
    """A socket whose client side is two memory channels; `stalled` stops its writer, so
    posted frames stay queued."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.to_server, self._inbound = trio.open_memory_channel[str | bytes | Frame](100)
        self._outbound, self.from_server = trio.open_memory_channel[str | bytes](1000)
        self._queued: deque[str | bytes] = deque()
        self._posted = trio.Event()
        self.closed_with: int | None = None
        self.closed = trio.Event()
        self.stalled = False
        self.pongs: list[bytes] = []  # answers to websocket pings, in order

    async def receive(self) -> str | bytes | Frame:
        try:
            return await self._inbound.receive()
        except trio.EndOfChannel:
            raise SocketClosed from None

    def post(self, frame: str | bytes) -> int:
        if self.closed_with is not None:
            raise SocketClosed
        self._queued.append(frame)
        self._posted.set()
        return len(self._queued)

    def pong(self, payload: bytes) -> int:
        if self.closed_with is not None:
            raise SocketClosed
        self.pongs.append(payload)
        return len(self._queued) + 1

    async def write_posted(self) -> None:
        while True:
            if not self._queued:
                self._posted = trio.Event()
                await self._posted.wait()
            elif self.stalled:
                await trio.sleep_forever()
            else:
                await self._outbound.send(self._queued.popleft())

    async def close(self, code: int) -> None:
        if self.closed_with is None:
            self.closed_with = code
            self.closed.set()

    async def say(self, message: object) -> None:
        await self.to_server.send(self.codec.encode(message))  # type: ignore[arg-type]

    async def next(self) -> object:
        return self.codec.decode_server(await self.from_server.receive())


@dataclass
class FakeHub:
    """The Hub's session-facing side, without Redis."""

    attached: list[object] = field(default_factory=list)
    closing: bool = False

    def enter(self, member: object) -> None: ...
    def leave(self, member: object, code: int) -> None: ...

    async def attach(self, member: object) -> None:
        self.attached.append(member)

    def detach(self, member: object) -> None:
        self.attached.remove(member)


class FakeEvents:
    async def resume(self, user_id: int, since: str | None) -> Replay:
        return Replay(False, [])


REVOKED: set[str] = set()  # token hashes logged out (tests add and remove their own)


async def sign_in(token: str) -> SignedIn | None:
    return SignedIn(ALICE, "aa") if token == "good" else None


async def still_signed_in(token_hash_hex: str) -> bool:
    return token_hash_hex not in REVOKED


def session(socket: FakeSocket, hub: object = None, events: object = None) -> SessionActor:
    return SessionActor(socket, socket.codec, hub or FakeHub(), events or FakeEvents(),  # type: ignore[arg-type]
                   sign_in, still_signed_in, SETTINGS)


async def start_signed_in(nursery: trio.Nursery, socket: FakeSocket, hub: object = None,
                          events: object = None) -> None:
    """Run a session on `socket` in `nursery`, signed in by `auth`; returns after `hello`."""
    await socket.say(Auth("good"))
    nursery.start_soon(session(socket, hub, events).run)
    assert isinstance(await socket.next(), Hello)


async def test_no_auth_within_the_deadline_closes_4001(autojump_clock: trio.testing.MockClock) -> None:
    socket = FakeSocket(JSON)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session(socket).run)
        await trio.sleep(9.9)
        assert socket.closed_with is None
        await socket.say(Ping())  # answered, but does not sign in
        assert isinstance(await socket.next(), Pong)
        await socket.say(FeedInsert("1-0", {}))  # not a command: an error frame
        error = await socket.next()
        assert isinstance(error, Error) and error.code == "unknown_type"
        await socket.closed.wait()
    assert socket.closed_with == CloseCode.UNAUTHENTICATED
    assert trio.current_time() < 10.5


async def test_commands_before_auth_get_an_error_then_auth_says_hello(
        autojump_clock: trio.testing.MockClock) -> None:
    socket = FakeSocket(MSGPACK)
    hub = FakeHub()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session(socket, hub).run)
        await socket.to_server.send(b"\xc1garbage")
        assert isinstance(error := await socket.next(), Error) and error.code == "bad_frame"
        await socket.to_server.send('{"t": "ping"}')  # a text frame on a msgpack socket
        assert isinstance(error := await socket.next(), Error) and error.code == "wrong_frame_type"
        await socket.say(Auth("good"))
        hello = await socket.next()
        assert isinstance(hello, Hello) and hello.user["username"] == "alice"
        assert not hello.recovered and len(hub.attached) == 1
        nursery.cancel_scope.cancel()
    assert hub.attached == []  # unregistered when it ended


async def test_a_logout_while_the_session_joins_the_hub_closes_4001() -> None:
    """The revocation message may be published before the Hub listens for this user, so
    a session checks its token once it does."""

    class LoggingOutHub(FakeHub):
        async def attach(self, member: object) -> None:
            REVOKED.add("aa")  # the logout lands while the bucket is being subscribed
            await super().attach(member)

    socket = FakeSocket(JSON)
    await socket.say(Auth("good"))
    try:
        with trio.fail_after(5):
            await session(socket, LoggingOutHub()).run()
    finally:
        REVOKED.discard("aa")
    assert socket.closed_with == CloseCode.UNAUTHENTICATED
    assert socket.from_server.statistics().current_buffer_used == 0  # no hello


async def test_forged_token_closes_4001(autojump_clock: trio.testing.MockClock) -> None:
    socket = FakeSocket(JSON)
    await socket.say(Auth("forged"))
    await session(socket).run()
    assert socket.closed_with == CloseCode.UNAUTHENTICATED


async def test_unanswered_ping_closes_4000_and_answered_pings_keep_it(
        autojump_clock: trio.testing.MockClock) -> None:
    socket = FakeSocket(JSON)
    async with trio.open_nursery() as nursery:
        await start_signed_in(nursery, socket)
        start = trio.current_time()
        for _ in range(3):  # three pings answered: still open after 75 s
            assert isinstance(await socket.next(), Ping)
            await socket.say(Pong())
        assert trio.current_time() - start >= 75 and socket.closed_with is None
        assert isinstance(await socket.next(), Ping)  # this one is not answered
        pinged = trio.current_time()
        await socket.closed.wait()
    assert socket.closed_with == CloseCode.PING_TIMEOUT
    assert 19.9 <= trio.current_time() - pinged <= 20.1


async def test_flooding_closes_4029(autojump_clock: trio.testing.MockClock) -> None:
    socket = FakeSocket(JSON)
    async with trio.open_nursery() as nursery:
        await start_signed_in(nursery, socket)
        for _ in range(19):  # within the burst (auth took one), each answered
            await socket.say(Ping())
            assert isinstance(await socket.next(), Pong)
        await trio.sleep(2)  # 10 tokens refilled
        for _ in range(12):
            await socket.say(Ping())
        await socket.closed.wait()
    assert socket.closed_with == CloseCode.RATE_LIMITED


async def test_websocket_pings_and_pongs_count_against_the_rate_signed_in_or_not(
        autojump_clock: trio.testing.MockClock) -> None:
    anonymous = FakeSocket(JSON)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(session(anonymous).run)
        for n in range(20):  # the burst, each answered
            await anonymous.to_server.send(Frame(ping=b"%d" % n) if n % 2 else Frame())
        await trio.testing.wait_all_tasks_blocked()
        assert anonymous.closed_with is None
        await anonymous.to_server.send(Frame(ping=b"over"))
        await anonymous.closed.wait()
    assert anonymous.closed_with == CloseCode.RATE_LIMITED  # not 4001: it was too fast first
    assert anonymous.pongs == [b"%d" % n for n in range(1, 20, 2)]

    signed_in = FakeSocket(JSON)
    async with trio.open_nursery() as nursery:
        await start_signed_in(nursery, signed_in)
        for _ in range(20):  # auth took one of the burst
            await signed_in.to_server.send(Frame(ping=b"x"))
        await signed_in.closed.wait()
    assert signed_in.closed_with == CloseCode.RATE_LIMITED
    assert len(signed_in.pongs) == 19


async def test_a_pong_the_mailbox_cannot_hold_closes_4008(
        autojump_clock: trio.testing.MockClock) -> None:
    socket = FakeSocket(JSON)
    async with trio.open_nursery() as nursery:
        await start_signed_in(nursery, socket)
        socket.stalled = True
        for _ in range(SETTINGS.mailbox):  # their pongs fill the mailbox
            await socket.say(Ping())
        await trio.testing.wait_all_tasks_blocked()
        assert socket.closed_with is None
        await socket.to_server.send(Frame(ping=b"one too many"))
        await socket.closed.wait()
    assert socket.closed_with == CloseCode.TOO_SLOW


async def test_the_sign_in_deadline_fires_while_a_client_floods_pings() -> None:
    """Pings always ready to read: each is a checkpoint, so the deadline cancels the wait
    for `auth` however fast they come (the rate limit is lifted here), and their pongs,
    which the client never reads, do not pile up."""
    server_sock, client_sock = stdlib_socket.socketpair()
    client = WSConnection(ConnectionType.CLIENT)
    ws, _, _ = read_upgrade(client.send(Request(host="pixtrio.test", target="/ws")))
    firehose = Firehose(server_sock.detach(), ping_frames(), limit=1000)
    with firehose, client_sock:
        firehose.setblocking(False)
        wire = RecordingWire(firehose, ws, max_message_bytes=1000)
        wire.firehose = firehose
        wire.accept(None)
        settings = SessionSettings(auth_timeout=0.1, mailbox=8, rate=1e9, burst=10**9)
        await SessionActor(wire, JSON, FakeHub(), FakeEvents(), sign_in,  # type: ignore[arg-type]
                      still_signed_in, settings).run()
    assert wire.closed_with == CloseCode.UNAUTHENTICATED
    assert 0 < wire.left_when_closed < 1000  # closed while the client was still sending


class RecordingWire(WireSocket):
    """Remembers the code it was closed with, and how much its firehose had left then."""

    firehose: Firehose
    closed_with: int | None = None
    left_when_closed = 0

    async def close(self, code: int) -> None:
        self.closed_with = code
        self.left_when_closed = self.firehose.left
        await super().close(code)


@asynccontextmanager
async def real_hub(tmp_path: Path, cluster: ValkeyCluster | None,
                   ) -> AsyncIterator[tuple[Hub, EventStreams, Any]]:
    async with redis_clients(tmp_path, cluster) as (redis, lean):
        events = EventStreams(lean, keep_s=300, maxlen=100)
        hub = Hub(Bus(redis, sharded=cluster is not None), events, keep_interval=100)
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.run)
            yield hub, events, redis
            nursery.cancel_scope.cancel()


async def test_a_slow_client_gets_4008_and_the_others_keep_getting_events(
        tmp_path: Path, cluster: ValkeyCluster | None) -> None:
    async with real_hub(tmp_path, cluster) as (hub, events, _):
        slow, fast = FakeSocket(JSON), FakeSocket(MSGPACK)
        async with trio.open_nursery() as nursery:
            for socket in (slow, fast):
                await start_signed_in(nursery, socket, hub, events)
            slow.stalled = True
            received: list[str] = []
            for n in range(30):  # more than the mailbox of 8 holds
                await events.deliver([ALICE.user_id], f'{{"t":"post.deleted","post_id":"{n}"}}')
                with trio.fail_after(5):
                    event = await fast.next()
                assert event.post_id == str(n)  # type: ignore[attr-defined]
                received.append(event.id)  # type: ignore[attr-defined]
            with trio.fail_after(5):
                await slow.closed.wait()
            nursery.cancel_scope.cancel()
        assert slow.closed_with == CloseCode.TOO_SLOW
        assert fast.closed_with == CloseCode.GOING_AWAY
        assert received == sorted(received, key=lambda i: tuple(map(int, i.split("-"))))
        assert hub.session_count == 0


async def test_resume_replays_exactly_the_missed_events_then_live_ones(
        tmp_path: Path, cluster: ValkeyCluster | None) -> None:
    async with real_hub(tmp_path, cluster) as (hub, events, _):
        first = FakeSocket(JSON)
        async with trio.open_nursery() as nursery:
            await start_signed_in(nursery, first, hub, events)
            await events.deliver([1], '{"t":"post.deleted","post_id":"1"}')
            seen = await first.next()
            nursery.cancel_scope.cancel()
        for n in (2, 3):  # missed while away
            assert await events.deliver([1], f'{{"t":"post.deleted","post_id":"{n}"}}') == 1
        again = FakeSocket(JSON)
        await again.say(Auth("good", since=seen.id))  # type: ignore[attr-defined]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session(again, hub, events).run)
            hello = await again.next()
            assert isinstance(hello, Hello) and hello.recovered
            missed = [await again.next(), await again.next()]
            assert [e.post_id for e in missed] == ["2", "3"]  # type: ignore[attr-defined]
            await events.deliver([1], '{"t":"post.deleted","post_id":"4"}')
            live = await again.next()
            assert live.post_id == "4"  # type: ignore[attr-defined]
            await events.deliver([1], '{"t":"post.deleted","post_id":"5"}')
            following = await again.next()  # not a duplicate or a stray event first
            assert following.post_id == "5"  # type: ignore[attr-defined]
            nursery.cancel_scope.cancel()
        gone = FakeSocket(JSON)
        await gone.say(Auth("good", since="1-0"))  # older than anything kept
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session(gone, hub, events).run)
            hello = await gone.next()
            assert isinstance(hello, Hello) and not hello.recovered
            nursery.cancel_scope.cancel()


async def test_a_gap_longer_than_the_stream_keeps_is_not_recovered(
        tmp_path: Path, cluster: ValkeyCluster | None) -> None:
    async with redis_clients(tmp_path, cluster) as (redis, lean):
        events = EventStreams(lean, keep_s=300, maxlen=20)
        assert await events.deliver([5], '{"t":"post.deleted","post_id":"0"}') == 0  # offline
        assert not (await events.resume(5, None)).recovered  # comes online
        ids = []
        for n in range(60):
            await events.deliver([5], f'{{"t":"post.deleted","post_id":"{n}"}}')
            [(last, _)] = (await events.resume(5, ids[-1] if ids else "0-1")).events[-1:]
            ids.append(last)
        early = await events.resume(5, ids[5])
        assert not early.recovered
        recent = await events.resume(5, ids[50])
        assert recent.recovered and [i for i, _ in recent.events] == ids[51:]
        assert not (await events.resume(5, "nonsense")).recovered


async def test_events_reach_users_with_ids_beyond_a_doubles_precision(
        tmp_path: Path, cluster: ValkeyCluster | None) -> None:
    """The delivery script computes each user's bus bucket itself; it must agree with
    `bucket_of` for real 63-bit ids."""
    async def signed_in_as(user_id: int) -> SignedIn:
        return SignedIn(SessionUser(user_id, f"u{user_id}", None), "aa")

    users = [7_300_000_000_000_000_123, 2**63 - 1, 9_007_199_254_740_993, BUCKETS - 1, BUCKETS]
    async with real_hub(tmp_path, cluster) as (hub, events, _):
        sockets = [FakeSocket(MSGPACK) for _ in users]
        async with trio.open_nursery() as nursery:
            for user_id, socket in zip(users, sockets, strict=True):
                actor = SessionActor(socket, socket.codec, hub, events, sign_in,  # type: ignore[arg-type]
                                still_signed_in, SETTINGS,
                                signed_in=await signed_in_as(user_id))
                nursery.start_soon(actor.run)
                assert isinstance(await socket.next(), Hello)
            assert await events.deliver(users, '{"t":"post.deleted","post_id":"9"}') == len(users)
            for socket in sockets:
                with trio.fail_after(5):
                    assert (await socket.next()).post_id == "9"  # type: ignore[attr-defined]
            nursery.cancel_scope.cancel()


async def test_a_lost_bus_connection_closes_sessions_to_resume_and_nothing_is_lost(
        tmp_path: Path, cluster: ValkeyCluster | None) -> None:
    async with real_hub(tmp_path, cluster) as (hub, events, redis):
        socket = FakeSocket(JSON)
        async with trio.open_nursery() as nursery:
            await start_signed_in(nursery, socket, hub, events)
            await events.deliver([1], '{"t":"post.deleted","post_id":"1"}')
            seen = await socket.next()
            if cluster is None:
                await redis.client_kill(type_=PureToken.PUBSUB)
            else:  # the sharded bus holds a connection to each node
                for node in cluster.nodes():
                    await node.execute([command("CLIENT", "KILL", "TYPE", "PUBSUB")])
                    await node.aclose()
            await events.deliver([1], '{"t":"post.deleted","post_id":"2"}')  # maybe never live
            with trio.fail_after(10):
                await socket.closed.wait()
            nursery.cancel_scope.cancel()
        assert socket.closed_with == CloseCode.SERVICE_RESTART
        again = FakeSocket(JSON)
        await again.say(Auth("good", since=seen.id))  # type: ignore[attr-defined]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(session(again, hub, events).run)
            hello = await again.next()
            assert isinstance(hello, Hello) and hello.recovered
            assert (await again.next()).post_id == "2"  # type: ignore[attr-defined]
            nursery.cancel_scope.cancel()


async def test_events_older_than_the_keep_period_are_dropped(
        tmp_path: Path, cluster: ValkeyCluster | None) -> None:
    async with redis_clients(tmp_path, cluster) as (redis, lean):
        events = EventStreams(lean, keep_s=2, maxlen=100)
        await events.keep([7])
        for n in range(3):
            await events.deliver([7], f'{{"t":"post.deleted","post_id":"{n}"}}')
        old = (await events.resume(7, "0-1")).events
        assert len(old) == 3
        await trio.sleep(1)
        await events.keep([7])  # online: the stream stays, its events are not old yet
        assert len((await events.resume(7, "0-1")).events) == 3
        await events.deliver([7], '{"t":"post.deleted","post_id":"3"}')

        async def old_dropped() -> bool:  # once the three are older than the keep period
            await events.keep([7])
            return not (await events.resume(7, old[0][0])).recovered

        await wait_until(old_dropped, "the old events to be dropped")
        after_last_old = await events.resume(7, old[-1][0])  # nothing after it was dropped
        assert after_last_old.recovered and len(after_last_old.events) == 1
        for gone in (old[0][0], old[1][0]):  # events after these were dropped
            assert not (await events.resume(7, gone)).recovered
        assert await redis.xlen(keys.events(7)) == 1


async def test_a_sign_in_cached_after_a_logout_does_not_revive_the_token(
        tmp_path: Path, cluster: ValkeyCluster | None) -> None:
    """A first sign-in that read the store just before a logout caches only where no
    entry is; the logout's tombstone stays."""
    async with redis_clients(tmp_path, cluster) as (redis, lean):
        tokens = SessionTokens(redis, lean, ttl_s=60)
        assert await tokens.get("bb") is None
        await tokens.revoke("bb")  # the logout lands between the store read and the put
        await tokens.put("bb", ALICE)
        assert await tokens.get("bb") == Cached(None)
        await tokens.put("cc", ALICE)
        assert await tokens.get("cc") == Cached(ALICE)
        await tokens.revoke("cc")
        assert await tokens.get("cc") == Cached(None)
