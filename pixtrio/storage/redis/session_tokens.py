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
from typing import Any, cast

import coredis
from coredis import PureToken

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors

USER_TEMPLATE = keys.session_tokens_of(cast(int, "%s"))
"""Where string.format puts the user id to name a user's set of cached hashes."""

CACHED_SIGN_IN = """
local function cached_sign_in(key, ttl, users_set)
  local raw = redis.call('GETEX', key, 'EX', ttl)
  local user = raw and string.match(raw, '^%d+')
  if user then
    redis.call('EXPIRE', string.format(users_set, user), ttl)
  end
  return raw, user
end
"""
"""Lua: a cached sign-in (entries are `<user id> <JSON>`, or the tombstone) and its user
id, both kept `ttl` longer; nil when not cached. Scripts that sign in (the feed's page
script too) start with it; `users_set` is `USER_TEMPLATE`."""

_GET = CACHED_SIGN_IN + "return (cached_sign_in(KEYS[1], ARGV[1], ARGV[2]))"
REVOKED = "revoked"


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
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._get = client.register_script(_GET)

    async def get(self, token_hash_hex: str) -> Cached | None:
        """The cache entry (kept `ttl_s` longer: a token in use stays cached), or None
        when the token is not cached."""
        with redis_errors():
            raw: Any = await self._get(keys=[keys.session_token(token_hash_hex)],
                                       args=[self._ttl_s, USER_TEMPLATE])
        if raw is None:
            return None
        if raw == REVOKED:
            return Cached(None)
        return Cached(SessionUser(**json.loads(raw.partition(" ")[2])))

    async def put(self, token_hash_hex: str, user: SessionUser) -> None:
        """Cache a sign-in read from the store, unless the token has an entry already
        (a tombstone above all)."""
        with redis_errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(keys.session_token(token_hash_hex),
                         f"{user.user_id} {json.dumps(asdict(user))}", ex=self._ttl_s,
                         condition=PureToken.NX)
                pipe.sadd(keys.session_tokens_of(user.user_id), [token_hash_hex])
                pipe.expire(keys.session_tokens_of(user.user_id), self._ttl_s)

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
