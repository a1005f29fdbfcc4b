"""A token's last use is written to the store at most once per interval per process."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import trio

from pixtrio.features.accounts.revocation import Revocations
from pixtrio.features.accounts.sessions import TOUCH_INTERVAL_S, Sessions
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import NewUser, Token


async def test_last_use_is_written_once_per_interval(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "meta.db")
    now = [1000.0]
    # recording use revokes nothing: no Revocations needed
    sessions = Sessions(store, cast(Revocations, None), clock=lambda: now[0])
    try:
        with trio.fail_after(10):
            user = await store.create_user(NewUser(1, "ann", "ann@example.com", "h",
                                                   datetime(2024, 1, 1, tzinfo=UTC)))
            token = Token(os.urandom(32), user.user_id, datetime(2024, 1, 1, tzinfo=UTC))
            await store.create_token(token)

            async def last_used() -> datetime | None:
                [listed] = await sessions.list(user)
                return listed.last_used_at

            assert await last_used() == token.created_at
            await sessions.seen(token.token_hash)
            first = await last_used()
            assert first is not None and first > token.created_at
            before = store.operations
            now[0] += TOUCH_INTERVAL_S - 1
            await sessions.seen(token.token_hash)
            assert store.operations == before  # within the interval: no store call
            assert await last_used() == first
            now[0] += 2
            await sessions.seen(token.token_hash)
            later = await last_used()
            assert later is not None and later >= first and store.operations > before
    finally:
        await store.aclose()
