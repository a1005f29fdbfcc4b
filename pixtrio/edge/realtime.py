"""Realtime: websocket sessions, the per-process Hub, and the events they deliver."""

from __future__ import annotations

from dataclasses import dataclass

from pixtrio.actors.hub import Hub
from pixtrio.actors.session import Screen, SessionSettings, SignIn, StillSignedIn
from pixtrio.features.notify import Notifier
from pixtrio.storage.redis.events import EventStreams


@dataclass(frozen=True)
class Realtime:
    """What `/ws` needs, built once per process."""

    hub: Hub
    events: EventStreams
    notifier: Notifier
    sign_in: SignIn
    still_signed_in: StillSignedIn
    settings: SessionSettings
    screen: Screen | None = None
    """What a resume may replay, by the visibility rule."""
