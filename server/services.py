"""The services one server process shares across requests, reachable from routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import coredis
from quart import current_app

from storage.metadata import MetadataStore

from .accounts import AccountService
from .config import Settings
from .cursors import Cursors
from .graph import GraphService
from .ids import IdGenerator


@dataclass
class Services:
    settings: Settings
    store: MetadataStore
    redis: coredis.Redis[str]
    redis_description: str
    ids: IdGenerator
    cursors: Cursors
    accounts: AccountService
    graph: GraphService


def services() -> Services:
    """The services of the app handling the current request."""
    return cast(Services, current_app.extensions["pixtrio"])
