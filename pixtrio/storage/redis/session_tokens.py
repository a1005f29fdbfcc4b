"""Sign-ins cached for websocket sessions, so connecting needs no metadata-store query.

An entry maps a token's hash to who it signs in (id, username, picture) for `ttl_s`, and
each user's set of cached hashes lets a change of picture drop them all at once. Logging
out replaces the token's entry with a tombstone for `ttl_s`, and entries are only ever
added where none is, so a sign-in that read the store just before the logout cannot cache
the revoked token again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import coredis
from coredis import PureToken

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors
from pixtrio.storage.redis.lean import LeanRedis, command

REVOKED = "revoked"


def parse_user_id(entry: str | bytes | None) -> int | None:
    """The user id a cache entry signs in (entries are `<user id> <JSON>`), else None."""
    if isinstance(entry, bytes):
        entry = entry.decode()
    head = (entry or "").partition(" ")[0]
    return int(head) if head.isascii() and head.isdigit() else None


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    username: str
    profile_pic: str | None


@dataclass(frozen=True)
class Cached:
    """A cache entry: who the token signs in, or None for a revoked token."""

    user: SessionUser | None


class SessionTokens:
    def __init__(self, client: coredis.Redis[str], lean: LeanRedis, *, ttl_s: int) -> None:
        self._client = client
        self._lean = lean
        self._ttl_s = ttl_s

    async def get(self, token_hash_hex: str) -> Cached | None:
        """The cache entry (kept `ttl_s` longer: a token in use stays cached), or None
        when the token is not cached. Over the lean client: a reconnect storm reads
        thousands a second, and through coredis each read cost the process a millisecond."""
        name = keys.session_token(token_hash_hex)
        [raw] = await self._lean.execute([command("GETEX", name, "EX", self._ttl_s, route=name)])
        return await self._entry(raw, refresh=True)

    async def peek(self, token_hash_hex: str) -> Cached | None:
        """The cache entry as it is (no TTL kept), or None when the token is not cached."""
        name = keys.session_token(token_hash_hex)
        [raw] = await self._lean.execute([command("GET", name, route=name)])
        return await self._entry(raw, refresh=False)

    async def _entry(self, raw: bytes | None, *, refresh: bool) -> Cached | None:
        if raw is None:
            return None
        text = raw.decode()
        if text == REVOKED:
            return Cached(None)
        user_id = parse_user_id(text)
        if refresh and user_id is not None:
            name = keys.session_tokens_of(user_id)
            await self._lean.execute([command("EXPIRE", name, self._ttl_s, route=name)])
        return Cached(SessionUser(**json.loads(text.partition(" ")[2])))

    async def put(self, token_hash_hex: str, user: SessionUser) -> None:
        """Cache a sign-in read from the store, unless the token has an entry already
        (a tombstone above all)."""
        with redis_errors():
            async with self._client.pipeline(transaction=False) as pipe:
                # the user's set first, so it names every entry a change must drop
                pipe.sadd(keys.session_tokens_of(user.user_id), [token_hash_hex])
                pipe.expire(keys.session_tokens_of(user.user_id), self._ttl_s)
                pipe.set(keys.session_token(token_hash_hex),
                         f"{user.user_id} {json.dumps(asdict(user))}", ex=self._ttl_s,
                         condition=PureToken.NX)

    async def revoke(self, token_hash_hex: str) -> None:
        """Replace the token's entry with a tombstone."""
        with redis_errors():
            await self._client.set(keys.session_token(token_hash_hex), REVOKED, ex=self._ttl_s)

    async def drop_user(self, user_id: int) -> None:
        """Forget every cached sign-in of a user (their profile picture changed)."""
        with redis_errors():
            hashes = await self._client.smembers(keys.session_tokens_of(user_id))
            await self._client.delete([keys.session_tokens_of(user_id),
                                       *(keys.session_token(h) for h in hashes)])
