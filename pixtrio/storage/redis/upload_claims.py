"""Claims on upload URLs: a URL is used by one PUT at a time, and once only when it
succeeds. A claim expires with its URL."""

from __future__ import annotations

import coredis
from coredis import PureToken

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors


class UploadClaims:
    def __init__(self, client: coredis.Redis[str]) -> None:
        self._client = client

    async def claim(self, post_id: int, *, ttl_ms: int) -> bool:
        """Claim the URL of `post_id` for `ttl_ms`; False if it is claimed or used.
        Raises `StorageError`."""
        with redis_errors():
            return bool(await self._client.set(keys.upload_claim(post_id), "receiving",
                                               condition=PureToken.NX, px=ttl_ms))

    async def mark_used(self, post_id: int, *, ttl_ms: int) -> None:
        """The upload is stored: the URL stays used until it expires. Raises `StorageError`."""
        with redis_errors():
            await self._client.set(keys.upload_claim(post_id), "done", px=ttl_ms)

    async def release(self, post_id: int) -> None:
        """Drop the claim so the URL may be used again; a failure is ignored (the claim
        expires with the URL anyway)."""
        try:
            with redis_errors():
                await self._client.delete([keys.upload_claim(post_id)])
        except StorageError:
            pass
