"""Closing the SQLite store while a statement hangs."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import trio
import trio.testing

from pixtrio.storage import sqlite
from pixtrio.storage.errors import StorageError
from pixtrio.storage.sqlite import SqliteStore


async def test_close_gives_up_on_a_hung_statement_after_its_deadline(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite, "CLOSE_SECONDS", 0.2)
    store = await SqliteStore.open(tmp_path / "metadata.db")
    hung = threading.Event()
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(store._read_in_thread, lambda c: hung.wait(20))
            await trio.testing.wait_all_tasks_blocked()
            started = trio.current_time()
            await store.aclose()
            # the bound: CLOSE_SECONDS, not the statement's 20 s
            assert trio.current_time() - started < 5
            with pytest.raises(StorageError):  # closed: later calls fail fast
                await store.ping()
            hung.set()
    finally:
        hung.set()
