"""64-bit time-ordered ids: 41 bits of milliseconds, 10 bits of worker, 12 of sequence.

Ids sort by creation time, fit a signed 64-bit integer until 2093, and are unique across
processes as long as each live process holds a distinct worker field (leased from Redis
and renewed while the process lives, see `storage.redis.leases`, or set with
PIXTRIO_WORKER_ID).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from pixtrio.storage.errors import StorageError

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
WORKER_BITS = 10
SEQUENCE_BITS = 12
MAX_WORKER = (1 << WORKER_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
MAX_ID = (1 << 63) - 1
ID_TEXT = re.compile(r"[0-9]{1,19}")
"""ASCII digits only: `str.isdigit` and `int` also take "²" or "٣", which are no id."""


class NoWorkerField(StorageError):
    """No worker field is held now (its lease lapsed): no id can be minted until it is."""


class IdGenerator:
    """Hands out strictly increasing ids on one worker field: a fixed one, or the one a
    lease holds now (`worker()`, None while none is held). Not shared across threads."""

    def __init__(self, worker: int | Callable[[], int | None]) -> None:
        self._worker: Callable[[], int | None]
        if isinstance(worker, int):
            if not 0 <= worker <= MAX_WORKER:
                raise ValueError(f"worker_id must be 0..{MAX_WORKER}")
            fixed = worker
            self._worker = lambda: fixed
        else:
            self._worker = worker
        self._last_ms = 0
        self._sequence = 0

    @property
    def worker_id(self) -> int | None:
        """The worker field ids are minted on now; None while none is held."""
        return self._worker()

    def next_id(self) -> int:
        """A new id. If the clock steps back, ids keep counting from the last millisecond.
        Raises `NoWorkerField` while no worker field is held."""
        worker_id = self._worker()
        if worker_id is None:
            raise NoWorkerField("no id worker field is held (its Redis lease lapsed)")
        now = int(time.time() * 1000) - EPOCH_MS
        if now <= self._last_ms:
            now = self._last_ms
            self._sequence = (self._sequence + 1) & MAX_SEQUENCE
            if self._sequence == 0:  # 4096 ids in one millisecond: borrow the next one
                now += 1
        else:
            self._sequence = 0
        self._last_ms = now
        return (now << (WORKER_BITS + SEQUENCE_BITS)) | (worker_id << SEQUENCE_BITS) | self._sequence


def id_time_ms(id_: int) -> int:
    """The Unix millisecond timestamp inside an id."""
    return (id_ >> (WORKER_BITS + SEQUENCE_BITS)) + EPOCH_MS


def parse_id(text: str) -> int | None:
    """The id `text` spells (ASCII digits, 1..2**63-1), or None if it spells none."""
    if not ID_TEXT.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
