"""Sign-ins cached for websocket sessions, so connecting needs no metadata-store query.

An entry maps a token's hash to who it signs in (id, username, picture) for `ttl_s`, and
each user's set of cached hashes lets a change of picture drop them all at once; logging
out deletes the token's entry.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import coredis

from . import keys
from .client import redis_errors


@dataclass(frozen=True)
class SessionUser:
    user_id: int
    username: str
    profile_pic: str | None


class SessionTokens:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s

    async def get(self, token_hash_hex: str) -> SessionUser | None:
        with redis_errors():
            raw = await self._client.get(keys.session_token(token_hash_hex))
        return SessionUser(**json.loads(raw)) if raw else None

    async def put(self, token_hash_hex: str, user: SessionUser) -> None:
        with redis_errors():
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(keys.session_token(token_hash_hex), json.dumps(asdict(user)),
                         ex=self._ttl_s)
                pipe.sadd(keys.session_tokens_of(user.user_id), [token_hash_hex])
                pipe.expire(keys.session_tokens_of(user.user_id), self._ttl_s)

    async def drop(self, token_hash_hex: str) -> None:
        with redis_errors():
            await self._client.delete([keys.session_token(token_hash_hex)])

    async def drop_user(self, user_id: int) -> None:
        """Forget every cached sign-in of a user (their profile picture changed)."""
        with redis_errors():
            hashes = await self._client.smembers(keys.session_tokens_of(user_id))
            await self._client.delete([keys.session_tokens_of(user_id),
                                       *(keys.session_token(h) for h in hashes)])
