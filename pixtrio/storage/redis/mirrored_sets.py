"""Sets of ids copied from the metadata store, for the feed's page reads: whose posts
reach each active user's feed (`following_sets`: whom they follow, less whom they mute),
which posts they like (`liked_sets`), who is suspended (`suspended_set`, one for all) and
whose account is private (`private_set`, one for all).

The store is the record; a set is a copy that may be missing (expired with the
timeline, evicted, lost with Redis) and is rebuilt from the store when a read finds it so.
A set holds the member "0" (no user or post has id 0) once built. Every change bumps the
user's version after the store write, and a rebuild only lands if the version it saw
before reading the store is unchanged, so a rebuild racing a change never drops it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import coredis

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import redis_errors
from pixtrio.storage.redis.scripts import source

BUILT = "0"

_CHANGED = source("mirror_changed")
_REBUILD = source("mirror_rebuild")


class MirroredSets:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int, set_key: Callable[[int], str],
                 version_key: Callable[[int], str]) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._set_key = set_key
        self._version_key = version_key
        self._changed = client.register_script(_CHANGED)
        self._rebuild = client.register_script(_REBUILD)

    async def version(self, user_id: int) -> str:
        """The user's version now: read it before reading the store for `rebuild`."""
        with redis_errors():
            return await self._client.get(self._version_key(user_id)) or ""

    async def rebuild(self, user_id: int, members: Sequence[int], seen_version: str) -> bool:
        """Replace the user's set with `members` (read from the store after `version`
        gave `seen_version`); False, changing nothing, if a change came between."""
        with redis_errors():
            done: Any = await self._rebuild(
                keys=[self._set_key(user_id), self._version_key(user_id)],
                args=[seen_version, str(self._ttl_s), BUILT, *map(str, members)])
        return bool(done)

    async def changed(self, user_id: int, member: int, *, present: bool) -> None:
        """After a change in the store: bump the version, update the set if built."""
        with redis_errors():
            await self._changed(keys=[self._set_key(user_id), self._version_key(user_id)],
                                args=["1" if present else "0", str(self._ttl_s), str(member)])

    async def drop(self, user_id: int) -> None:
        """Delete the user's set and version (the account is gone)."""
        with redis_errors():
            await self._client.delete([self._set_key(user_id), self._version_key(user_id)])


def following_sets(client: coredis.Redis[str], *, ttl_s: int) -> MirroredSets:
    """Whom each user follows and does not mute: the authors their feed shows."""
    return MirroredSets(client, ttl_s=ttl_s, set_key=keys.following,
                        version_key=keys.following_version)


def suspended_set(client: coredis.Redis[str], *, ttl_s: int) -> MirroredSets:
    """The suspended users: one set for everyone (its `user_id` arguments are ignored)."""
    return MirroredSets(client, ttl_s=ttl_s, set_key=lambda _: keys.suspended(),
                        version_key=lambda _: keys.suspended_version())


def private_set(client: coredis.Redis[str], *, ttl_s: int) -> MirroredSets:
    """The private accounts: one set for everyone (its `user_id` arguments are ignored)."""
    return MirroredSets(client, ttl_s=ttl_s, set_key=lambda _: keys.private_accounts(),
                        version_key=lambda _: keys.private_accounts_version())


def liked_sets(client: coredis.Redis[str], *, ttl_s: int) -> MirroredSets:
    """Which posts each user likes."""
    return MirroredSets(client, ttl_s=ttl_s, set_key=keys.liked, version_key=keys.liked_version)
