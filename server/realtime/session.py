"""The SessionActor: one per websocket, owning the socket, a bounded mailbox and its state.

A session first signs in (an `auth` message within `auth_timeout`, unless the upgrade
request carried a valid Bearer token), registers with the Hub, replays what the client
missed since its `since` position, says `hello`, and then runs three tasks in one
nursery: the reader (commands in, rate limited), the writer (mailbox out) and the pinger
(a `ping` every `ping_interval`; silence for `ping_timeout` after one closes with 4000).
When any of them ends the others are cancelled, the session leaves the Hub and the socket
is closed with the reason's code.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import trio

from protocol.codecs import Codec, ProtocolError
from protocol.messages import Auth, CloseCode, Error, Hello, Ping, Pong
from storage.errors import StorageError
from storage.redis.events import EventStreams, stream_id
from storage.redis.session_tokens import SessionUser

from .hub import Hub, decode_event

log = logging.getLogger("pixtrio.realtime")

BAD_FRAME_COST = 5
"""A frame that cannot be decoded counts this many times against the inbound rate."""


class SocketClosed(Exception):
    """The peer has gone (or the socket was closed)."""


class Socket(Protocol):
    """One accepted websocket, as a session uses it."""

    async def receive(self) -> str | bytes:
        """The next frame; raises `SocketClosed` once the peer has gone."""

    async def send(self, frame: str | bytes) -> None:
        """Send one frame; raises `SocketClosed` if the peer has gone."""

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


@dataclass(frozen=True)
class SignedIn:
    user: SessionUser
    token_hash_hex: str


class _Ended(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


class Session:
    def __init__(self, socket: Socket, codec: Codec, hub: Hub, events: EventStreams,
                 sign_in: SignIn, settings: SessionSettings, *,
                 signed_in: SignedIn | None = None, since: str | None = None) -> None:
        self.codec = codec
        self.session_id = secrets.token_hex(8)
        self.user_id = 0
        self.token_hash_hex = ""
        self._socket = socket
        self._hub = hub
        self._events = events
        self._sign_in = sign_in
        self._settings = settings
        self._signed_in = signed_in
        self._since = since
        self._outbox, self._mailbox = trio.open_memory_channel[tuple[str | None, str | bytes]](
            settings.mailbox)
        self._scope: trio.CancelScope | None = None
        self._end_code: int | None = None
        self._last_heard = trio.current_time()
        self._replayed_up_to: tuple[int, int] | None = None
        self._tokens = float(settings.burst)
        self._refilled = trio.current_time()

    # called by the Hub, never blocking

    def offer(self, event_id: str, frame: str | bytes) -> None:
        try:
            self._outbox.send_nowait((event_id, frame))
        except trio.WouldBlock:
            self.end(CloseCode.TOO_SLOW)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    def end(self, code: int) -> None:
        if self._end_code is None:
            self._end_code = code
        if self._scope is not None:
            self._scope.cancel()

    # the actor

    async def run(self) -> None:
        """Serve the socket until the client leaves or the session must end; the socket
        is closed on return with the reason's code. Cancelled (server stopping), the
        session closes with 1001."""
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
            self._hub.leave(self)
            with trio.CancelScope(shield=True):
                await self._socket.close(code)

    async def _serve(self) -> int:
        with trio.CancelScope() as self._scope:
            if self._end_code is not None:
                self._scope.cancel()
            signed_in = self._signed_in
            if signed_in is None:
                signed_in = await self._await_auth()
                if signed_in is None:
                    return CloseCode.UNAUTHENTICATED
            self.user_id = signed_in.user.user_id
            self.token_hash_hex = signed_in.token_hash_hex
            await self._hub.attach(self)
            try:
                await self._greet(signed_in.user)
                async with trio.open_nursery() as nursery:
                    for part in (self._reader, self._writer, self._pinger):
                        nursery.start_soon(self._part, part)
            finally:
                self._hub.detach(self)
        return self._end_code if self._end_code is not None else CloseCode.GOING_AWAY

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
                await self._flush_replies()
        return None

    async def _flush_replies(self) -> None:
        """Send what `_reply` queued, before the writer runs (no events are queued yet)."""
        while True:
            try:
                _, frame = self._mailbox.receive_nowait()
            except trio.WouldBlock:
                return
            await self._socket.send(frame)

    async def _greet(self, user: SessionUser) -> None:
        """Keep the user's stream, replay what was missed, then say hello."""
        resumed = await self._events.resume(self.user_id, self._since)
        recovered, replay = resumed.recovered, resumed.events
        hello = Hello(self.session_id, {"user_id": str(user.user_id), "username": user.username,
                                        "profile_pic": user.profile_pic}, recovered)
        await self._socket.send(self.codec.encode(hello))
        for event_id, event_json in replay:
            await self._socket.send(self.codec.encode(decode_event(event_id, event_json)))
        if replay:
            self._replayed_up_to = stream_id(replay[-1][0])

    async def _receive_command(self) -> object | None:
        """The next decoded command, or None after answering a bad frame with `error`."""
        frame = await self._socket.receive()
        self._last_heard = trio.current_time()
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
        """Queue an answer behind the events already in the mailbox."""
        try:
            self._outbox.send_nowait((None, self.codec.encode(message)))  # type: ignore[arg-type]
        except trio.WouldBlock:
            raise _Ended(CloseCode.TOO_SLOW) from None

    async def _writer(self) -> None:
        skip_up_to = self._replayed_up_to
        async for event_id, frame in self._mailbox:
            if skip_up_to is not None and event_id is not None:
                position = stream_id(event_id)
                if position is not None and position <= skip_up_to:
                    continue  # already sent by the replay
            await self._socket.send(frame)

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

