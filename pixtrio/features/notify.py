"""Turning what happened into events for the users who should see them.

Delivery is best effort on top of what was already stored: a Redis failure here is
logged and never fails the request or job that caused the event (clients that missed
it are told to refetch when they resume).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import orjson

from pixtrio.features.views import author_view
from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.types import User

log = logging.getLogger("pixtrio.realtime")


class Notifier:
    def __init__(self, events: EventStreams) -> None:
        self._events = events

    async def _send(self, user_ids: Sequence[int], event: dict[str, Any]) -> None:
        try:
            await self._events.deliver(user_ids, orjson.dumps(event).decode())
        except StorageError as exc:
            log.warning("event %s not delivered: %s", event["t"], exc)

    async def feed_insert(self, user_ids: Sequence[int], post: dict[str, Any]) -> None:
        """A new post (API.md's `post`, as a viewer who has not liked it sees it)."""
        await self._send(user_ids, {"t": "feed.insert", "post": post})

    async def post_deleted(self, user_ids: Sequence[int], post_id: int) -> None:
        await self._send(user_ids, {"t": "post.deleted", "post_id": str(post_id)})

    async def notification(self, user_id: int, kind: str, actor: User,
                           post_id: int | None = None) -> None:
        """Tell `user_id` that `actor` followed them, or liked or commented on their post;
        nothing when they are the actor."""
        if user_id == actor.user_id:
            return
        event: dict[str, Any] = {"t": "notification", "kind": kind, "actor": author_view(actor)}
        if post_id is not None:
            event["post_id"] = str(post_id)
        await self._send([user_id], event)
