"""The SessionActor: one per websocket, owning the socket, a bounded mailbox and its state.

A session first signs in (an `auth` message within `auth_timeout`, unless the upgrade
request carried a valid Bearer token), registers with the Hub, checks its token once more
(a logout may have been published before the Hub listened), says `hello`, replays what
the client missed since its `since` position, and then runs its parts in one
nursery: the reader (commands in, rate limited), the writer (frames the socket did not
take at once go out as it drains; from the start, so replies to early commands too) and
the pinger (a `ping` every `ping_interval`; silence for `ping_timeout` after one closes
with 4000). When any of them ends the others are cancelled, the session leaves the Hub and
the socket is closed with the reason's code.

Every inbound frame counts against the inbound rate (4029 when it runs out), before
signing in too: messages, and also websocket pings, pongs and fragments, which the socket
hands up as `Frame`s; the session answers a ping's `Frame` with the socket's `pong`.

Frames are posted to the socket without waiting: the kernel usually takes them at once, so
an event costs no task switch. The mailbox is what the socket has queued beyond that; more
than `mailbox` frames there closes the session with 4008.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from pixtrio.actors.hub import Hub, decode_event
from pixtrio.protocol.codecs import Codec, ProtocolError
from pixtrio.protocol.messages import Auth, CloseCode, Error, Hello, Ping, Pong
from pixtrio.protocol.websocket import Frame, SocketClosed
from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis.events import EventStreams, stream_id
from pixtrio.storage.redis.session_tokens import SessionUser

log = logging.getLogger("pixtrio.realtime")

BAD_FRAME_COST = 5
"""A frame that cannot be decoded counts this many times against the inbound rate."""
CLOSE_SECONDS = 3.0
"""Seconds closing the socket may hold up a cancelled session (shielded)."""


class Socket(Protocol):
    """One accepted websocket, as a session uses it."""

    async def receive(self) -> str | bytes | Frame:
        """The next message, or a `Frame`; checkpoints each time, so a peer that keeps
        sending cannot hold the scheduler. Raises `SocketClosed` once the peer has gone."""

    def post(self, frame: str | bytes) -> int:
        """Send `frame` behind those already posted, without waiting: written now if the
        socket takes it, else queued. Returns the frames queued; `SocketClosed` once the
        socket is closed."""

    def pong(self, payload: bytes) -> int:
        """Answer a ping like `post`, but replacing a pong still queued and not started,
        so that pings queue at most one. Returns the frames queued; `SocketClosed` once the
        socket is closed."""

    async def write_posted(self) -> None:
        """Write queued frames as the socket drains, until cancelled; `SocketClosed`
        once the peer has gone."""

    async def close(self, code: int) -> None:
        """Close with `code`; never raises."""


@dataclass(frozen=True)
class SessionSettings:
    auth_timeout: float = 10.0
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    mailbox: int = 256
    rate: float = 20.0  # inbound frames per second, sustained
    burst: int = 40


SignIn = Callable[[str], Awaitable["SignedIn | None"]]
StillSignedIn = Callable[[str], Awaitable[bool]]
"""Whether a token (by its hash) is still live."""
Screen = Callable[[int, list[tuple[str, str]]], Awaitable[list[tuple[str, str]]]]
"""Of a user's stored (id, JSON) events, those they may still see (the visibility rule)."""


@dataclass(frozen=True)
class SignedIn:
    user: SessionUser
    token_hash_hex: str


class _Ended(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class SessionActor:
    def __init__(self, socket: Socket, codec: Codec, hub: Hub, events: EventStreams,
                 sign_in: SignIn, still_signed_in: StillSignedIn, settings: SessionSettings, *,
                 signed_in: SignedIn | None = None, since: str | None = None,
                 screen: Screen | None = None) -> None:
        self.codec = codec
        self.session_id = secrets.token_hex(8)
        self.user_id = 0
        self.token_hash_hex = ""
        self._socket = socket
        self._hub = hub
        self._events = events
        self._sign_in = sign_in
        self._still_signed_in = still_signed_in
        self._settings = settings
        self._signed_in = signed_in
        self._since = since
        self._screen = screen
        self._early: list[tuple[str, str | bytes]] | None = []  # events before `hello`
        self._scope: trio.CancelScope | None = None
        self._end_code: int | None = None
        self._last_heard = trio.current_time()
        self._tokens = float(settings.burst)
        self._refilled = trio.current_time()

    # called by the Hub, never blocking

    def offer(self, event_id: str, frame: str | bytes) -> None:
        early = self._early
        if early is None:
            self._post(frame)
            return
        early.append((event_id, frame))  # sent after the replay, unless it replayed them
        if len(early) > self._settings.mailbox:
            self.end(CloseCode.TOO_SLOW)

    def end(self, code: int) -> None:
        if self._end_code is None:
            self._end_code = code
        if self._scope is not None:
            self._scope.cancel()

    # the actor

    async def run(self) -> None:
        """Serve the socket until the client leaves or the session must end; the socket
        is closed on return with the reason's code. Cancelled (server stopping), the
        session closes with 1001; the close is shielded for at most `CLOSE_SECONDS`."""
        code: int = CloseCode.GOING_AWAY
        self._hub.enter(self)
        try:
            code = await self._serve()
        except _Ended as ended:
            code = ended.code
        except SocketClosed:
            code = CloseCode.NORMAL
        except StorageError as exc:
            log.warning("session %s ended: %s", self.session_id, exc)
            code = CloseCode.INTERNAL_ERROR
        finally:
            self._hub.leave(self, code)
            with trio.move_on_after(CLOSE_SECONDS, shield=True):
                await self._socket.close(code)

    async def _serve(self) -> int:
        with trio.CancelScope() as self._scope:
            if self._end_code is not None:
                self._scope.cancel()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._part, self._socket.write_posted)
                nursery.start_soon(self._part, self._signed_in_part)
        return self._end_code if self._end_code is not None else CloseCode.GOING_AWAY

    async def _signed_in_part(self) -> None:
        """Sign in, join the Hub, greet, then read and ping until the session ends."""
        signed_in = self._signed_in
        if signed_in is None:
            signed_in = await self._await_auth()
            if signed_in is None:
                raise _Ended(CloseCode.UNAUTHENTICATED)
        self.user_id = signed_in.user.user_id
        self.token_hash_hex = signed_in.token_hash_hex
        await self._hub.attach(self)
        try:
            if not await self._still_signed_in(self.token_hash_hex):
                raise _Ended(CloseCode.UNAUTHENTICATED)  # revoked before the Hub listened
            await self._greet(signed_in.user)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._part, self._reader)
                nursery.start_soon(self._part, self._pinger)
        finally:
            self._hub.detach(self)

    async def _await_auth(self) -> SignedIn | None:
        """Read frames until a valid `auth` (None on timeout or a bad token); `ping` is
        answered and anything else gets a `not_authenticated` error meanwhile."""
        with trio.move_on_after(self._settings.auth_timeout):
            while True:
                message = await self._receive_command()
                if isinstance(message, Auth):
                    self._since = message.since
                    return await self._sign_in(message.token)
                if message is not None:
                    self._reply(Pong() if isinstance(message, Ping)
                                else Error("not_authenticated", "send auth first"))
        return None

    async def _greet(self, user: SessionUser) -> None:
        """Keep the user's stream, say hello, replay what was missed, then go live: the
        events that arrived meanwhile follow, less those the replay already held. The
        replay (at most a stream's length) does not count against the mailbox, and is
        screened (`screen`) by who the user may see now."""
        resumed = await self._events.resume(self.user_id, self._since)
        recovered, replay = resumed.recovered, resumed.events
        shown = await self._screen(self.user_id, replay) if self._screen and replay else replay
        hello = Hello(self.session_id, {"user_id": str(user.user_id), "username": user.username,
                                        "profile_pic": user.profile_pic}, recovered)
        self._socket.post(self.codec.encode(hello))
        for event_id, event_json in shown:
            self._socket.post(self.codec.encode(decode_event(event_id, event_json)))
        replayed_up_to = stream_id(replay[-1][0]) if replay else None
        early, self._early = self._early or [], None
        for event_id, frame in early:
            position = stream_id(event_id)
            if replayed_up_to is None or position is None or position > replayed_up_to:
                self._post(frame)

    async def _receive_command(self) -> object | None:
        """The next decoded command, or None after a `Frame` (a ping's is answered with a
        pong) or a bad frame (answered with `error`). Each counts against the rate."""
        frame = await self._socket.receive()
        self._last_heard = trio.current_time()
        if isinstance(frame, Frame):
            self._spend(1)
            if frame.ping is not None and self._socket.pong(frame.ping) > self._settings.mailbox:
                raise _Ended(CloseCode.TOO_SLOW)
            return None
        try:
            message = self.codec.decode_command(frame)
        except ProtocolError as exc:
            self._spend(BAD_FRAME_COST)
            self._reply(Error(exc.code, exc.message))
            return None
        self._spend(1)
        return message

    # the three parts

    async def _part(self, part: Callable[[], Awaitable[None]]) -> None:
        """Run one part; its reason to stop ends the whole session."""
        try:
            await part()
        except _Ended as ended:
            self.end(ended.code)
        except SocketClosed:
            self.end(CloseCode.NORMAL)

    async def _reader(self) -> None:
        while True:
            message = await self._receive_command()
            if isinstance(message, Ping):
                self._reply(Pong())
            elif isinstance(message, Pong) or message is None:
                pass
            elif isinstance(message, Auth):
                self._reply(Error("already_authenticated", "this session is signed in"))
            else:
                name = getattr(message, "TYPE", "this command")
                self._reply(Error("not_supported", f"{name} is not available yet"))

    def _spend(self, cost: int) -> None:
        """Token bucket for inbound frames: running out closes with 4029."""
        now = trio.current_time()
        self._tokens = min(float(self._settings.burst),
                           self._tokens + (now - self._refilled) * self._settings.rate)
        self._refilled = now
        self._tokens -= cost
        if self._tokens < 0:
            raise _Ended(CloseCode.RATE_LIMITED)

    def _reply(self, message: object) -> None:
        """Send an answer behind the frames already posted."""
        self._post(self.codec.encode(message))  # type: ignore[arg-type]

    def _post(self, frame: str | bytes) -> None:
        """Post a frame; a socket that has queued more than the mailbox holds, or has
        closed, ends the session."""
        try:
            if self._socket.post(frame) > self._settings.mailbox:
                self.end(CloseCode.TOO_SLOW)
        except SocketClosed:
            self.end(CloseCode.NORMAL)

    async def _pinger(self) -> None:
        next_ping = trio.current_time() + self._settings.ping_interval
        while True:
            await trio.sleep_until(next_ping)
            sent = trio.current_time()
            self._reply(Ping())
            next_ping = sent + self._settings.ping_interval
            await trio.sleep_until(sent + self._settings.ping_timeout)
            if self._last_heard < sent:
                raise _Ended(CloseCode.PING_TIMEOUT)

