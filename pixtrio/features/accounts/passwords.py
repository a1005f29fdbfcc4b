"""Password hashing with argon2id, off the event loop."""

from __future__ import annotations

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hashes and verifies passwords in threads, at most `concurrency` at a time.

    Each hash takes tens of milliseconds and 64 MiB, so the limiter bounds both CPU and
    memory under a login flood. On cancellation the running hash finishes first.
    """

    def __init__(self, concurrency: int = 4) -> None:
        self._hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self._limiter = trio.CapacityLimiter(concurrency)
        # Checked when an account does not exist, so timing does not reveal which names do.
        self._dummy_hash = self._hasher.hash("pixtrio-not-a-password")

    async def hash(self, password: str) -> str:
        return await trio.to_thread.run_sync(self._hasher.hash, password, limiter=self._limiter)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if `password` matches; with no stored hash, spends the same time and says False."""

        def verify() -> bool:
            try:
                matched = self._hasher.verify(stored_hash or self._dummy_hash, password)
            except (VerificationError, InvalidHashError):
                return False
            return matched and stored_hash is not None

        return await trio.to_thread.run_sync(verify, limiter=self._limiter)
