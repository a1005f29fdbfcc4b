"""The bot SDK: one account's REST calls and its `/ws` events, kept connected.

    async with Bot.connect("http://127.0.0.1:8080", username="bot", password="...") as bot:
        await bot.follow("alice")
        async for event in bot.events():
            if isinstance(event, FeedInsert):
                await bot.like(event.post["post_id"])

The Bot owns an HTTP client (httpx) and a task that keeps one websocket session open
(trio-websocket, msgpack): it signs in with `auth`, answers the server's pings, and when
the connection drops or the server closes it (1001, 4000, 4008, ...) reconnects with
backoff and `since=` the last event it queued, so no event is lost or repeated. When the
server cannot replay what was missed (`hello.recovered` false, which includes the first
connection), `events()` yields `Resync()`: refetch over REST. A revoked token ends
`events()` with `SignedOut`.

Backpressure: events wait in a bounded queue of `EVENT_QUEUE`. While it is full the
connection is not read, so pings go unanswered; the server then closes the session
(4000 or 4008) and the Bot resumes after the last queued event. A slow bot is resumed,
never buffered without bound.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx
import trio
from trio_websocket import ConnectionClosed, HandshakeError, WebSocketConnection, open_websocket_url

from pixtrio.protocol.codecs import MSGPACK, ProtocolError
from pixtrio.protocol.messages import (
    MAX_FRAME_BYTES,
    Auth,
    CloseCode,
    DmMessage,
    DmRead,
    DmTyping,
    Error,
    Event,
    FeedInsert,
    Hello,
    Notification,
    Ping,
    Pong,
    PostDeleted,
    StoryTray,
)

__all__ = [
    "ApiError", "Bot", "BotError", "DmMessage", "DmRead", "DmTyping", "Event", "FeedInsert",
    "Notification", "PostDeleted", "Resync", "SignedOut", "StoryTray", "Unreachable",
]

log = logging.getLogger("pixtrio.bot")

EVENT_QUEUE = 64
"""Events received but not yet taken from `events()`."""

SERVER_SILENCE = 60.0
"""The server pings every 25 s: this long without a frame means the connection is dead."""

CLOSE_GRACE = 2.0
"""How long closing a websocket may wait for the server's close frame."""

HTTP_TIMEOUT = 30.0
"""httpx's inactivity limit per request phase (connect, read, write)."""


class BotError(Exception):
    """Base of the SDK's errors."""


class ApiError(BotError):
    """A REST call answered with an error status; `code` is API.md's snake_case code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


class SignedOut(BotError):
    """The token was revoked (or is not valid): the server closed the websocket with 4001."""


class Unreachable(BotError):
    """The server could not be reached: a REST call's transport failed, or the first
    websocket connection did (later ones are retried)."""


@dataclass(frozen=True)
class Resync:
    """Events may have been missed (first connection, or the server no longer had them
    all): refetch what you show over REST. Live events follow it."""


class Bot:
    """One signed-in account. Make it with `Bot.connect`, which owns its resources."""

    def __init__(self, http: httpx.AsyncClient, ws_url: str, token: str, user: dict[str, Any],
                 since: str | None) -> None:
        self._http = http
        self._ws_url = ws_url
        self._token = token
        self._user = user
        self._queued_id = since  # resume position: the last event put in the queue
        self._handed_id = since  # the last event `events()` returned
        self._session_id = ""
        self._failure: BotError | ProtocolError | None = None
        self._send, self._receive = trio.open_memory_channel[Event | Resync](EVENT_QUEUE)
        self._events = _Events(self)

    @classmethod
    @asynccontextmanager
    async def connect(cls, base_url: str, *, username: str | None = None,
                      password: str | None = None, token: str | None = None,
                      since: str | None = None) -> AsyncIterator[Bot]:
        """Sign in (with `username` and `password`, or an existing `token`) and open the
        websocket; yields once the server has said hello, so events caused from then on
        reach `events()`. `since` resumes after an event id kept from an earlier Bot
        (`last_event_id`).

        Raises ApiError if signing in is refused, Unreachable if the server cannot be
        reached, SignedOut if the websocket refuses the token. Leaving the block (also by
        cancellation or an exception) closes the websocket (waiting at most CLOSE_GRACE
        for the server) and the HTTP client; the token is not revoked.
        """
        if token is None:
            if username is None or password is None:
                raise TypeError("give either username and password, or token")
        elif username is not None or password is not None:
            raise TypeError("give either username and password, or token")
        base_url = base_url.rstrip("/")
        scheme, sep, rest = base_url.partition("://")
        if not sep or scheme not in ("http", "https"):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        ws_url = f"{'wss' if scheme == 'https' else 'ws'}://{rest}/ws"
        async with httpx.AsyncClient(base_url=base_url, timeout=HTTP_TIMEOUT) as http:
            if token is None:
                signed_in = await _call(http, "POST", "/api/auth/login",
                                        json={"login": username, "password": password})
                token, user = signed_in["token"], signed_in["user"]
            else:
                user = await _call(http, "GET", "/api/me", token=token)
            bot = cls(http, ws_url, token, user, since)
            try:
                async with trio.open_nursery() as nursery:
                    await nursery.start(bot._stay_connected)
                    try:
                        yield bot
                    finally:
                        nursery.cancel_scope.cancel()
            except BaseExceptionGroup as group:
                # the keeper task ends quietly, so the one exception is the caller's own
                # (or the first connection's failure): raise it as it was raised
                if len(group.exceptions) != 1:
                    raise
                _reraise(group.exceptions[0])

    # what a bot reads

    @property
    def token(self) -> str:
        """The bearer token the Bot signs in with."""
        return self._token

    @property
    def user(self) -> dict[str, Any]:
        """API.md's `user` for the account, as it was when the Bot signed in."""
        return self._user

    @property
    def session_id(self) -> str:
        """The current websocket session's id (from hello); it changes on reconnection."""
        return self._session_id

    @property
    def last_event_id(self) -> str | None:
        """The id of the last event `events()` returned (or `since`): keep it to resume
        a later Bot after it with `Bot.connect(..., since=...)`."""
        return self._handed_id

    def events(self) -> AsyncIterator[Event | Resync]:
        """The account's events, in order, each once, with `Resync()` wherever some may
        be missing; the first item is a `Resync()` unless `since` was recovered.

        Meant for one consumer. Cancelling a wait loses no event. The iteration ends when
        the Bot closes, or raises SignedOut once the token is revoked (ProtocolError if
        the server sends a malformed frame; unknown message types are skipped).
        """
        return self._events

    # REST calls: each returns the decoded JSON answer, raises ApiError or Unreachable

    async def post_photo(self, data: bytes, content_type: str = "image/jpeg",
                         caption: str = "") -> dict[str, Any]:
        """Upload `data` and publish it: the new `post`, still `status: "processing"`
        (followers get `feed.insert` once it is ready)."""
        grant = await self._call("POST", "/api/posts/upload-url",
                                 json={"content_type": content_type, "size": len(data)})
        # the upload URL alone authorises the PUT: no bearer token goes with it
        await _call(self._http, "PUT", grant["upload_url"], content=data,
                    headers={"Content-Type": content_type})
        post_id = grant["post_id"]
        return await self._call("POST", f"/api/posts/{post_id}/publish",
                                json={"caption": caption})

    async def like(self, post_id: str) -> dict[str, Any]:
        """Like a post (idempotent): `{liked, like_count}`."""
        return await self._call("POST", f"/api/posts/{post_id}/like")

    async def comment(self, post_id: str, text: str) -> dict[str, Any]:
        """Comment on a post: the new `comment`."""
        return await self._call("POST", f"/api/posts/{post_id}/comments",
                                json={"text": text})

    async def follow(self, username: str) -> dict[str, Any]:
        """Follow an account (idempotent): `{following: true}`."""
        return await self._call("POST", f"/api/users/{username}/follow")

    async def feed(self, limit: int = 20) -> dict[str, Any]:
        """The first page of the home feed, newest first: `{posts, next_cursor}`."""
        return await self._call("GET", "/api/feed", params={"limit": limit})

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return await _call(self._http, method, path, token=self._token, **kwargs)

    # the websocket

    async def _stay_connected(self, *, task_status: trio.TaskStatus[None]) -> None:
        """Keep a session open until cancelled, reconnecting with backoff; started once
        the first session has said hello (its failure before that is raised). Ends the
        event queue on return."""
        backoff = _Backoff()
        greeted = False

        def on_hello() -> None:
            nonlocal greeted
            backoff.reset()
            if not greeted:
                greeted = True
                task_status.started()

        try:
            while True:
                try:
                    await self._session(on_hello)
                except (SignedOut, ProtocolError) as exc:
                    if not greeted:
                        raise
                    self._failure = exc
                    return
                except _Dropped as dropped:
                    if not greeted:
                        raise Unreachable(f"websocket: {dropped}") from None
                    log.info("websocket dropped (%s); reconnecting", dropped)
                await trio.sleep(backoff.next())
        finally:
            self._send.close()

    async def _session(self, on_hello: Callable[[], None]) -> None:
        """One websocket connection, until it ends (raises _Dropped or SignedOut)."""
        try:
            async with open_websocket_url(self._ws_url, subprotocols=[MSGPACK.name],
                                          max_message_size=MAX_FRAME_BYTES) as ws:
                try:
                    await ws.send_message(MSGPACK.encode(Auth(self._token, self._queued_id)))
                    while True:
                        frame: str | bytes | None = None
                        with trio.move_on_after(SERVER_SILENCE):
                            frame = await ws.get_message()
                        if frame is None:
                            raise _Dropped(f"no frame for {SERVER_SILENCE:g} s")
                        await self._handle(ws, frame, on_hello)
                finally:
                    with trio.move_on_after(CLOSE_GRACE, shield=True):
                        await ws.aclose()
        except ConnectionClosed as closed:
            code = closed.reason.code if closed.reason is not None else None
            if code == CloseCode.UNAUTHENTICATED:
                raise SignedOut("the server closed the websocket: token revoked or not valid") from None
            raise _Dropped(f"closed with {code}") from None
        except HandshakeError as exc:
            raise _Dropped(f"could not connect: {exc!r}") from None

    async def _handle(self, ws: WebSocketConnection, frame: str | bytes,
                      on_hello: Callable[[], None]) -> None:
        try:
            message = MSGPACK.decode_server(frame)
        except ProtocolError as exc:
            if exc.code == "unknown_type":  # newer than this SDK
                log.debug("skipped a frame: %s", exc)
                return
            raise
        if isinstance(message, Ping):
            await ws.send_message(MSGPACK.encode(Pong()))
        elif isinstance(message, Hello):
            self._session_id = message.session_id
            if not message.recovered:
                await self._send.send(Resync())
            on_hello()
        elif isinstance(message, Error):
            log.warning("server error %s: %s", message.code, message.message)
        elif isinstance(message, Pong):
            pass
        elif _after(message.id, self._queued_id):
            await self._send.send(message)
            self._queued_id = message.id


class _Events:
    """`Bot.events()`: the receiving end of the Bot's queue."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> Event | Resync:
        bot = self._bot
        try:
            item = await bot._receive.receive()
        except trio.EndOfChannel:
            if bot._failure is not None:
                raise bot._failure from None
            raise StopAsyncIteration from None
        if not isinstance(item, Resync):
            bot._handed_id = item.id
        return item


class _Dropped(Exception):
    """A websocket connection ended in a way worth retrying."""


class _Backoff:
    """Exponential delays with jitter: 0.25 s doubling up to 30 s, reset by a hello."""

    FIRST = 0.25
    LIMIT = 30.0

    def __init__(self) -> None:
        self._delay = self.FIRST

    def reset(self) -> None:
        self._delay = self.FIRST

    def next(self) -> float:
        delay = self._delay * random.uniform(0.5, 1.0)
        self._delay = min(self._delay * 2, self.LIMIT)
        return delay


def _position(event_id: str | None) -> tuple[int, int] | None:
    """An event id (`"<ms>-<seq>"`) as a comparable pair, or None if it is not one."""
    if event_id is None:
        return None
    ms, sep, seq = event_id.partition("-")
    return (int(ms), int(seq)) if sep and ms.isdigit() and seq.isdigit() else None


def _after(event_id: str, last_id: str | None) -> bool:
    """False only for an event at or before the last one queued (a replay's overlap)."""
    position, last = _position(event_id), _position(last_id)
    return position is None or last is None or position > last


def _reraise(exc: BaseException) -> NoReturn:
    """Raise `exc` again, without the group it came in as its context."""
    context = exc.__context__
    try:
        raise exc
    finally:
        exc.__context__ = context
        del exc, context


async def _call(http: httpx.AsyncClient, method: str, url: str, *, token: str | None = None,
                **kwargs: Any) -> Any:
    """One REST request: the decoded JSON answer (None for 204). Raises ApiError for an
    error status, Unreachable if the request could not be made."""
    if token is not None:
        kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {token}"}
    try:
        response = await http.request(method, url, **kwargs)
    except httpx.TransportError as exc:
        raise Unreachable(f"{method} {url}: {exc!r}") from None
    if response.is_success:
        return None if response.status_code == 204 or not response.content else response.json()
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.reason_phrase or f"status {response.status_code}"
    raise ApiError(response.status_code, code, message)
