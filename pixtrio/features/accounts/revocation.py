"""Revocation: once tokens are revoked in the store, no cached sign-in serves them and
every websocket session signed in with them closes (4001), on every process.

The one path for logout, a password change, a revoked session, a deleted account (and
a suspension): revoke in the store, then `revoked` (or `revoke_all` for both at once).
"""

from __future__ import annotations

from collections.abc import Collection

from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.redis.session_tokens import SessionTokens


class Revocations:
    def __init__(self, store: MetadataStore, session_tokens: SessionTokens,
                 events: EventStreams) -> None:
        self._store = store
        self._session_tokens = session_tokens
        self._events = events

    async def revoked(self, user_id: int, token_hashes: Collection[bytes]) -> None:
        """After the store revoked the user's `token_hashes`: tombstone their cached
        sign-ins and close the sessions signed in with them, on every process."""
        if not token_hashes:
            return
        for token_hash in token_hashes:
            await self._session_tokens.revoke(token_hash.hex())
        await self._events.revoke(user_id, [h.hex() for h in token_hashes])

    async def revoke_all(self, user_id: int) -> None:
        """Revoke every token of the user and close every session of the user, on every
        process (the account is deleted or suspended). Idempotent."""
        for token_hash in await self._store.revoke_tokens(user_id):
            await self._session_tokens.revoke(token_hash.hex())
        await self._events.revoke(user_id, None)
