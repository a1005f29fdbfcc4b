"""Realtime: websocket sessions, the per-process Hub, and the events they deliver."""

from __future__ import annotations

from dataclasses import dataclass

from storage.redis.events import EventStreams

from .hub import Hub
from .notify import Notifier
from .session import SessionSettings, SignIn, StillSignedIn


@dataclass(frozen=True)
class Realtime:
    """What `/ws` needs, built once per process."""

    hub: Hub
    events: EventStreams
    notifier: Notifier
    sign_in: SignIn
    still_signed_in: StillSignedIn
    settings: SessionSettings
