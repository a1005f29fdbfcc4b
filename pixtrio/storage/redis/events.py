"""Per-user event streams and their live channel: what websocket sessions deliver and resume.

Every event a user should see is appended to their capped Redis Stream and published on
their channel in one Lua call (trimming deletes the oldest entries with XDEL, which, unlike
XTRIM, records the newest deleted id: a resume from before it is not `recovered`), so the stream id (the client's resume position) of a live
event is the id it has in the stream. A stream exists only while its user is online or
was within the last few minutes (`keep_s`): sessions create and renew it; an event for a
user without one is dropped (they refetch over REST when they come back), which is what
keeps a fan-out to many offline followers from writing to their streams. Events older
than `keep_s` are dropped as well, so a stream holds its user's last few minutes.

The scripts take user ids and make key and channel names from templates, so a delivery
to ten thousand users sends ten thousand short arguments. Users are spread over
`BUCKETS` channels, and one call publishes one message per bucket
however many of its users get the event, so a process's subscriber parses one message
for many sessions rather than one per user. Channel messages are text:
`E <user>:<id>,<user>:<id>… <event JSON>` for an event (each user with the id the event
has in their stream) and `R <user> <token hash>` when a token was revoked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import coredis

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors

_DELIVER = """
local cap, event, slack = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local stream_key, channel_name, buckets = ARGV[4], ARGV[5], tonumber(ARGV[6])
local delivered, targets, channels = 0, {}, {}
for i = 7, #ARGV do
  local user = ARGV[i]
  local key = string.format(stream_key, user)
  if redis.call('EXISTS', key) == 1 then
    local id = redis.call('XADD', key, '*', 'e', event)
    if redis.call('XLEN', key) > cap + slack then
      local old, ids = redis.call('XRANGE', key, '-', '+', 'COUNT', slack), {}
      for j, entry in ipairs(old) do ids[j] = entry[1] end
      redis.call('XDEL', key, unpack(ids))
    end
    local bucket = 0  -- user id modulo buckets, digit by digit (ids exceed a double)
    for k = 1, #user do bucket = (bucket * 10 + string.byte(user, k) - 48) % buckets end
    local channel = string.format(channel_name, bucket)
    if not targets[channel] then
      targets[channel] = {}
      channels[#channels + 1] = channel
    end
    local list = targets[channel]
    list[#list + 1] = user .. ':' .. id
    delivered = delivered + 1
  end
end
for _, channel in ipairs(channels) do
  redis.call('PUBLISH', channel, 'E ' .. table.concat(targets[channel], ',') .. ' ' .. event)
end
return delivered
"""

_CREATE = """
local function create(key)
  redis.call('XDEL', key, redis.call('XADD', key, '*', 'o', '1'))
end
"""
"""Makes an empty stream whose deleted-id mark is now: nothing before it is recoverable."""

_KEEP = _CREATE + """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local cutoff = string.format('%d', now_ms - tonumber(ARGV[1]) * 1000)
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then
    create(key)
  else
    local old, ids = redis.call('XRANGE', key, '-', cutoff, 'COUNT', 1000), {}
    for j, entry in ipairs(old) do ids[j] = entry[1] end
    if #ids > 0 then redis.call('XDEL', key, unpack(ids)) end
  end
  redis.call('EXPIRE', key, ARGV[1])
end
return #KEYS
"""
"""Keep online users' streams (creating missing ones) and drop events older than
`keep_s`: a client away that long refetches anyway, and a stream's size stays bounded by
its recent traffic, not by how long its user has been online."""

_RESUME = _CREATE + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  create(KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return false
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if ARGV[2] == '' then return false end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local deleted, last = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
  if info[i] == 'last-generated-id' then last = info[i + 1] end
end
return {deleted, last, redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[3])}
"""
"""Keep (or create) a user's stream and read what followed a resume position: a stream
that had to be created cannot recover anything."""

_PLACEHOLDER = cast(int, "%s")  # where the script's string.format puts a user id or bucket

DELIVER_BATCH = 1000
"""Users written per script call when one event goes to many users."""

BUCKETS = 61
"""Bus channels; a prime, so the time-ordered bits of user ids spread evenly. Few, because
a process holding thousands of sessions subscribes to every bucket anyway, and each
message costs its subscriber about 25 µs however few users it names: with 509 buckets a
delivery to 1,000 users published about 440 messages, with 61 it publishes 61."""


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
    def __init__(self, client: coredis.Redis[str], *, keep_s: int, maxlen: int) -> None:
        self._client = client
        self._keep_s = keep_s
        self._maxlen = maxlen
        self._deliver = client.register_script(_DELIVER)
        self._keep = client.register_script(_KEEP)
        self._resume = client.register_script(_RESUME)

    async def deliver(self, user_ids: Sequence[int], event_json: str) -> int:
        """Append `event_json` to the stream of each user that has one and publish it on
        their channel, `DELIVER_BATCH` users a call; returns how many got it. Cancelled
        midway, the batches already sent stay delivered."""
        delivered = 0
        for start in range(0, len(user_ids), DELIVER_BATCH):
            batch = user_ids[start:start + DELIVER_BATCH]
            with redis_errors():
                delivered += int(await self._deliver(keys=[], args=[
                    self._maxlen, event_json, max(1, self._maxlen // 16),
                    keys.events(_PLACEHOLDER), keys.bus_channel(_PLACEHOLDER), BUCKETS,
                    *batch]))
        return delivered

    async def keep(self, user_ids: Sequence[int]) -> None:
        """Create the streams of online users that lack one, keep them `keep_s` more, and
        drop their events older than `keep_s`."""
        for start in range(0, len(user_ids), DELIVER_BATCH):
            with redis_errors():
                await self._keep(keys=[keys.events(u) for u in user_ids[start:start + DELIVER_BATCH]],
                                 args=[self._keep_s])

    async def resume(self, user_id: int, since: str | None) -> Replay:
        """Keep the user's stream for `keep_s` more (creating it if need be) and return
        the events after `since`, oldest first, in one round trip."""
        position = stream_id(since) if since is not None else None
        with redis_errors():
            answer: Any = await self._resume(
                keys=[keys.events(user_id)],
                args=[self._keep_s, since if since is not None and position is not None else "",
                      2 * self._maxlen + 200])
        if not answer or position is None:
            return Replay(False, [])
        deleted, last, entries = answer
        events = [(entry_id, dict(zip(fields[::2], fields[1::2], strict=True))["e"])
                  for entry_id, fields in entries if "e" in fields[::2]]
        recovered = (stream_id(deleted) or (0, 0)) <= position <= (stream_id(last) or (0, 0))
        return Replay(recovered, events)

    async def revoke(self, user_id: int, token_hash_hex: str) -> None:
        """Tell every process that sessions of this token must close."""
        with redis_errors():
            await self._client.publish(keys.bus_channel(bucket_of(user_id)),
                                       f"R {user_id} {token_hash_hex}")
