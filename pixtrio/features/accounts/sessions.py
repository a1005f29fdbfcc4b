"""Sessions: a user's signed-in tokens as they see them (when and where from), last use
recorded cheaply, and revoking one."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from pixtrio.features.accounts.revocation import Revocations
from pixtrio.features.errors import not_found
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.types import Token, User

TOUCH_INTERVAL_S = 300.0
"""A token's `last_used_at` is written at most this often by one process."""
REMEMBERED_TOKENS = 10_000
"""Tokens whose last write this process remembers (the oldest is forgotten first)."""
SESSION_ID = re.compile(r"[0-9a-f]{1,64}")
MAX_USER_AGENT = 256
"""Characters of a request's User-Agent a new token keeps."""


class Sessions:
    def __init__(self, store: MetadataStore, revocations: Revocations, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._revocations = revocations
        self._clock = clock
        self._touched: dict[bytes, float] = {}  # token hash -> when last written, oldest first

    async def seen(self, token_hash: bytes) -> None:
        """The token was used now: record it, unless this process did within
        `TOUCH_INTERVAL_S` (so a busy token costs one store write per interval)."""
        now = self._clock()
        last = self._touched.pop(token_hash, None)
        if last is not None and now - last < TOUCH_INTERVAL_S:
            self._touched[token_hash] = last
            return
        self._touched[token_hash] = now
        if len(self._touched) > REMEMBERED_TOKENS:
            del self._touched[next(iter(self._touched))]
        await self._store.touch_token(token_hash, datetime.now(UTC))

    async def list(self, viewer: User) -> list[Token]:
        """The viewer's live tokens, newest first."""
        return await self._store.list_tokens(viewer.user_id)

    async def revoke(self, viewer: User, session_id: str) -> None:
        """Revoke the viewer's session `session_id` and close its websockets. Raises
        `NotFound` when the viewer has no such session (whoever else may have one)."""
        token = None
        if SESSION_ID.fullmatch(session_id):
            token = await self._store.revoke_session(viewer.user_id, session_id)
        if token is None:
            raise not_found("session")
        await self._revocations.revoked(viewer.user_id, [token.token_hash])
