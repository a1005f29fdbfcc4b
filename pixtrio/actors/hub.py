"""The Hub: one per process, it routes events from Redis pub/sub to the local sessions.

It holds the process's one subscription to the bus (`storage/redis/bus.py`: one
connection, or one per node on a cluster) and subscribes a bucket's channel while some
user of that bucket has a session here (reference counted). When a subscriber
connection is lost and re-established, events published meanwhile never arrive, so the
sessions of every resubscribed bucket are closed with 1012 and resume from their streams,
which lose nothing. Routing never waits on a session: a frame is offered to each mailbox
without blocking, and a session whose mailbox is full closes itself (4008). Each bus
message is decoded once, however many users it names; each user's frame is encoded once
per codec their sessions speak.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from typing import Any, Protocol

import msgspec
import trio

from pixtrio.protocol.codecs import JSON, Codec, ProtocolError
from pixtrio.protocol.messages import CloseCode
from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.bus import Bus, Subscription
from pixtrio.storage.redis.events import ALL_TOKENS, EventStreams, bucket_of

log = logging.getLogger("pixtrio.realtime")


def decode_event(event_id: str, event_json: str) -> Any:
    """The typed event of a stream entry or channel message (raises ProtocolError). The
    stored JSON is an object without the `id`, its position, which is added as its last
    field."""
    return JSON.decode_server(f"{event_json[:-1]},\"id\":{json.dumps(event_id)}}}")


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
    def __init__(self, bus: Bus, events: EventStreams, *, keep_interval: float) -> None:
        self._bus = bus
        self._events = events
        self._keep_interval = keep_interval
        self._members: dict[int, set[Member]] = {}
        self._everyone: set[Member] = set()
        self._bucket_users: dict[int, set[int]] = {}
        self._subscribed: dict[int, trio.Event] = {}
        self._confirmed: set[int] = set()
        self._subscription: Subscription | None = None
        self._decoded: tuple[str, Any] = ("", None)  # the last event decoded, by its JSON
        self.closes: Counter[int] = Counter()  # sessions ended, by close code
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

    def leave(self, member: Member, code: int) -> None:
        """A session has ended with close `code` (counted for `/metrics`)."""
        self._everyone.discard(member)
        self.closes[code] += 1

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the subscriber connection and route until cancelled; keeps the event
        streams of local users alive meanwhile."""
        async with self._bus.subscription() as subscription:
            self._subscription = subscription
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._keep_streams)
                task_status.started()
                while True:
                    message = await subscription.next_message()
                    if message.kind == "message":
                        self._route(message.data)
                    else:
                        self._acknowledged(message.kind, message.channel)

    async def attach(self, member: Member) -> None:
        """Register a session; returns once its user's bucket channel is subscribed."""
        user_id, bucket = member.user_id, bucket_of(member.user_id)
        self._members.setdefault(user_id, set()).add(member)
        self._bucket_users.setdefault(bucket, set()).add(user_id)
        while (pending := self._subscribed.get(bucket)) is not None:
            await pending.wait()
            if self._subscribed.get(bucket) is pending:
                return  # subscribed by another session of this bucket
        ready = self._subscribed[bucket] = trio.Event()
        assert self._subscription is not None, "attach before run started"
        try:
            await self._subscription.subscribe(keys.bus_channel(bucket))
        except BaseException:
            if self._subscribed.get(bucket) is ready:
                del self._subscribed[bucket]  # sessions waiting on it subscribe themselves
            self.detach(member)
            raise
        finally:
            ready.set()

    def detach(self, member: Member) -> None:
        """Unregister a session; a bucket's channel is unsubscribed with the last session
        of its users here."""
        user_id, bucket = member.user_id, bucket_of(member.user_id)
        members = self._members.get(user_id)
        if members is None or member not in members:
            return
        members.discard(member)
        if members:
            return
        del self._members[user_id]
        self._bucket_users[bucket].discard(user_id)
        if not self._bucket_users[bucket]:
            del self._bucket_users[bucket]
            self._subscribed.pop(bucket, None)
            if self._subscription is not None:
                self._subscription.unsubscribe_nowait(keys.bus_channel(bucket))

    def close_all(self, code: int = CloseCode.GOING_AWAY) -> None:
        """Ask every session to close (server shutdown: 1001)."""
        self.closing = True
        for member in list(self._everyone):
            member.end(code)

    def _acknowledged(self, kind: str, channel: str) -> None:
        """Track confirmed subscriptions; a second confirmation of a bucket means the
        client resubscribed after losing the connection."""
        bucket = int(channel.rpartition(":")[2])
        if kind == "unsubscribe":
            self._confirmed.discard(bucket)
        elif bucket not in self._confirmed:
            self._confirmed.add(bucket)
        else:
            log.warning("event bus reconnected: sessions of bucket %d resume", bucket)
            for user_id in list(self._bucket_users.get(bucket, ())):
                for member in list(self._members.get(user_id, ())):
                    member.end(CloseCode.SERVICE_RESTART)

    def _route(self, data: str) -> None:
        kind, _, rest = data.partition(" ")
        if kind == "R":
            user, _, token_hash_hex = rest.partition(" ")
            for member in list(self._members.get(int(user), ())):
                if token_hash_hex in (member.token_hash_hex, ALL_TOKENS):
                    member.end(CloseCode.UNAUTHENTICATED)
        elif kind == "E":
            targets, _, event_json = rest.partition(" ")
            template = None
            for target in targets.split(","):
                user, _, event_id = target.partition(":")
                members = self._members.get(int(user))
                if not members:
                    continue
                if template is None:
                    template = self._template(event_json)
                    if template is None:
                        return
                message = msgspec.structs.replace(template, id=event_id)
                frames: dict[str, str | bytes] = {}
                for member in list(members):
                    name = member.codec.name
                    frame = frames.get(name)
                    if frame is None:
                        frame = frames[name] = member.codec.encode(message)
                    member.offer(event_id, frame)

    def _template(self, event_json: str) -> Any:
        """The typed event of a bus message's JSON (None if it is not one). A delivery
        publishes the same JSON on every bucket it reaches, so the last one is kept."""
        if self._decoded[0] != event_json:
            try:
                self._decoded = (event_json, decode_event("0-0", event_json))
            except ProtocolError:
                log.exception("undeliverable event %s", event_json[:200])
                return None
        return self._decoded[1]

    async def _keep_streams(self) -> None:
        while True:
            await trio.sleep(self._keep_interval)
            try:
                await self._events.keep(list(self._members))
            except StorageError as exc:
                log.warning("could not renew event streams: %s", exc)
