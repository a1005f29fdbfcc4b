"""The Hub: one per process, it routes events from Redis pub/sub to the local sessions.

It holds the process's single subscriber connection and subscribes a user's channel while
that user has at least one session here (reference counted by the sessions themselves).
Routing never waits on a session: a frame is offered to each mailbox without blocking,
and a session whose mailbox is full closes itself (4008). Each event is decoded once and
encoded once per codec, whatever the number of sessions it goes to.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import coredis
import trio

from protocol.codecs import Codec, ProtocolError, from_wire
from protocol.messages import SERVER_MESSAGES, CloseCode
from storage.errors import StorageError
from storage.redis import keys
from storage.redis.events import EventStreams

log = logging.getLogger("pixtrio.realtime")

CHANNEL_PREFIX = keys.user_channel(0)[:-1]


def decode_event(event_id: str, event_json: str) -> Any:
    """The typed event of a stream entry or channel message (ValueError, ProtocolError)."""
    wire = json.loads(event_json)
    wire["id"] = event_id
    return from_wire(wire, SERVER_MESSAGES)


class Member(Protocol):
    """What the Hub needs of a session."""

    user_id: int
    token_hash_hex: str
    codec: Codec

    def offer(self, event_id: str, frame: str | bytes) -> None:
        """Queue an event frame without blocking (a full mailbox closes the session)."""

    def end(self, code: int) -> None:
        """Close the session with `code` soon, without blocking."""


class Hub:
    def __init__(self, redis: coredis.Redis[str], events: EventStreams, *,
                 keep_interval: float) -> None:
        self._redis = redis
        self._events = events
        self._keep_interval = keep_interval
        self._members: dict[int, set[Member]] = {}
        self._everyone: set[Member] = set()
        self._subscribed: dict[int, trio.Event] = {}
        self._pubsub: Any = None
        self.closing = False

    @property
    def session_count(self) -> int:
        """Open sessions, signed in or not."""
        return len(self._everyone)

    def enter(self, member: Member) -> None:
        """Count a new session (for `close_all`), before it has signed in."""
        self._everyone.add(member)
        if self.closing:
            member.end(CloseCode.GOING_AWAY)

    def leave(self, member: Member) -> None:
        self._everyone.discard(member)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the subscriber connection and route until cancelled; keeps the event
        streams of local users alive meanwhile."""
        async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
            self._pubsub = pubsub
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keep_streams)
                task_status.started()
                while True:
                    message = await pubsub.get_message()
                    if message is not None and message["type"] == "message":
                        self._route(str(message["channel"]), str(message["data"]))

    async def attach(self, member: Member) -> None:
        """Register a session; returns once its user's channel is subscribed."""
        user_id = member.user_id
        self._members.setdefault(user_id, set()).add(member)
        ready = self._subscribed.get(user_id)
        if ready is None:
            ready = self._subscribed[user_id] = trio.Event()
            try:
                await self._pubsub.subscribe(keys.user_channel(user_id))
            except BaseException:
                self.detach(member)
                raise
            finally:
                ready.set()
        else:
            await ready.wait()

    def detach(self, member: Member) -> None:
        """Unregister a session; the channel is unsubscribed with its user's last one."""
        user_id = member.user_id
        members = self._members.get(user_id)
        if members is None:
            return
        members.discard(member)
        if not members:
            del self._members[user_id]
            self._subscribed.pop(user_id, None)
            self._pubsub._unsubscribe(keys.user_channel(user_id))  # queued, never waits

    def close_all(self, code: int = CloseCode.GOING_AWAY) -> None:
        """Ask every session to close (server shutdown: 1001)."""
        self.closing = True
        for member in list(self._everyone):
            member.end(code)

    def _route(self, channel: str, data: str) -> None:
        if not channel.startswith(CHANNEL_PREFIX):
            return
        members = self._members.get(int(channel[len(CHANNEL_PREFIX):]))
        if not members:
            return
        kind, _, rest = data.partition(" ")
        if kind == "R":
            for member in list(members):
                if member.token_hash_hex == rest:
                    member.end(CloseCode.UNAUTHENTICATED)
        elif kind == "E":
            event_id, _, event_json = rest.partition(" ")
            try:
                message = decode_event(event_id, event_json)
            except (ValueError, ProtocolError):
                log.exception("undeliverable event %s", event_json[:200])
                return
            frames: dict[str, str | bytes] = {}
            for member in list(members):
                name = member.codec.name
                frame = frames.get(name)
                if frame is None:
                    frame = frames[name] = member.codec.encode(message)
                member.offer(event_id, frame)

    async def _keep_streams(self) -> None:
        while True:
            await trio.sleep(self._keep_interval)
            try:
                await self._events.keep(list(self._members))
            except StorageError as exc:
                log.warning("could not renew event streams: %s", exc)
