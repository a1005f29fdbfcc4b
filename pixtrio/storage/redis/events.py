"""Per-user event streams and their live channel: what websocket sessions deliver and resume.

Every event a user should see is appended to their capped Redis Stream and published on
their channel (trimming deletes the oldest entries with XDEL, which, unlike
XTRIM, records the newest deleted id: a resume from before it is not `recovered`), so the stream id (the client's resume position) of a live
event is the id it has in the stream. A stream exists only while its user is online or
was within the last few minutes (`keep_s`): sessions create and renew it; an event for a
user without one is dropped (they refetch over REST when they come back), which is what
keeps a fan-out to many offline followers from writing to their streams. Events older
than `keep_s` are dropped as well, so a stream holds its user's last few minutes.

A delivery appends with one script call per user (each stream is its user's slot),
pipelined over the lean client, then publishes (SPUBLISH on a cluster: see `bus`). Users are spread over `BUCKETS`
channels, and a delivery publishes one message per bucket however many of its users get
the event, so a process's subscriber parses one message for many sessions rather than one
per user. Channel messages are text:
`E <user>:<id>,<user>:<id>… <event JSON>` for an event (each user with the id the event
has in their stream), `R <user> <token hash>,<token hash>…` when tokens were revoked, and
`R <user>` when every session of a user must end (the account was deleted or suspended).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.lean import Call, LeanRedis, Script, command, evalsha
from pixtrio.storage.redis.scripts import source

_APPEND = Script(source("events_append"))
_KEEP = Script(source("stream_create.part", "events_keep"))
_RESUME = Script(source("stream_create.part", "events_resume"))

DELIVER_BATCH = 1000
"""Users written per script call when one event goes to many users."""

BUCKETS = 61
"""Bus channels; a prime, so the time-ordered bits of user ids spread evenly. Few, because
a process holding thousands of sessions subscribes to every bucket anyway, and each
message costs its subscriber about 25 µs however few users it names: with 509 buckets a
delivery to 1,000 users published about 440 messages, with 61 it publishes 61."""


ALL_TOKENS = "*"
"""The token hash of a revocation that ends every session of its user."""


def bucket_of(user_id: int) -> int:
    return user_id % BUCKETS


STREAM_ID = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
"""ASCII digits only: `str.isdigit` also takes "²", which `int` then refuses."""


def stream_id(text: str) -> tuple[int, int] | None:
    """`"<ms>-<seq>"` as a comparable pair, or None if it is not a stream id."""
    match = STREAM_ID.fullmatch(text)
    if match is None:
        return None
    ms, seq = int(match[1]), int(match[2])
    return (ms, seq) if ms < 1 << 64 and seq < 1 << 64 else None  # Redis's range


@dataclass(frozen=True)
class Replay:
    """The events after a resume position; `recovered` is False when some were not kept."""

    recovered: bool
    events: list[tuple[str, str]]  # (stream id, event JSON)


class EventStreams:
    def __init__(self, lean: LeanRedis, *, keep_s: int, maxlen: int) -> None:
        self._lean = lean
        self._keep_s = keep_s
        self._maxlen = maxlen

    async def deliver(self, user_ids: Sequence[int], event_json: str) -> int:
        """Append `event_json` to the stream of each user that has one and publish it on
        their channels, `DELIVER_BATCH` users a round trip (per node); returns how many
        got it. Cancelled midway, the batches already sent stay delivered."""
        delivered = 0
        args: list[str | int] = [self._maxlen, event_json, max(1, self._maxlen // 16)]
        for start in range(0, len(user_ids), DELIVER_BATCH):
            batch = user_ids[start:start + DELIVER_BATCH]
            ids = await self._lean.execute([evalsha(_APPEND, [keys.events(u)], args)
                                            for u in batch])
            targets: dict[int, list[str]] = {}
            for user_id, [entry_id] in zip(batch, ids, strict=True):
                if entry_id:
                    targets.setdefault(bucket_of(user_id), []).append(
                        f"{user_id}:{entry_id.decode()}")
            if targets:
                await self._lean.execute([self._publish(bucket, f"E {','.join(users)} {event_json}")
                                          for bucket, users in targets.items()])
                delivered += sum(map(len, targets.values()))
        return delivered

    async def keep(self, user_ids: Sequence[int]) -> None:
        """Create the streams of online users that lack one, keep them `keep_s` more, and
        drop their events older than `keep_s`: one script call per stream, `DELIVER_BATCH`
        a pipeline over the lean client (through coredis, ten thousand calls cost the
        process seconds of CPU, which stalled its sessions)."""
        for start in range(0, len(user_ids), DELIVER_BATCH):
            await self._lean.execute([evalsha(_KEEP, [keys.events(u)], [self._keep_s])
                                      for u in user_ids[start:start + DELIVER_BATCH]])

    async def resume(self, user_id: int, since: str | None) -> Replay:
        """Keep the user's stream for `keep_s` more (creating it if need be) and return
        the events after `since`, oldest first, in one round trip."""
        position = stream_id(since) if since is not None else None
        answer: Any = await self._lean.run_script(
            _RESUME, [keys.events(user_id)],
            [self._keep_s, since if since is not None and position is not None else "",
             2 * self._maxlen + 200])
        if not answer or position is None:
            return Replay(False, [])
        deleted, last, entries = answer
        events = [(entry_id.decode(), dict(zip(fields[::2], fields[1::2], strict=True))[b"e"].decode())
                  for entry_id, fields in entries if b"e" in fields[::2]]
        recovered = (stream_id(deleted.decode()) or (0, 0)) <= position <= (
            stream_id(last.decode()) or (0, 0))
        return Replay(recovered, events)

    async def revoke(self, user_id: int, token_hashes_hex: Collection[str] | None) -> None:
        """Tell every process that the user's sessions signed in with these tokens (with
        None: every session of the user) must close."""
        tokens = "" if token_hashes_hex is None else f" {','.join(token_hashes_hex)}"
        await self._lean.execute([self._publish(bucket_of(user_id), f"R {user_id}{tokens}")])

    async def drop(self, user_id: int) -> None:
        """Delete the user's stream (the account is gone)."""
        await self._lean.execute([command("DEL", keys.events(user_id), route=keys.events(user_id))])

    def _publish(self, bucket: int, message: str) -> Call:
        """Publishing on a bucket's channel: sharded (SPUBLISH, to the node owning the
        channel's slot) on a cluster, where a plain PUBLISH reaches every node."""
        channel = keys.bus_channel(bucket)
        if self._lean.cluster:
            return command("SPUBLISH", channel, message, route=channel)
        return command("PUBLISH", channel, message)
