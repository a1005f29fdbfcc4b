"""Structured logs: one JSON object per line on stderr."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

import trio

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def _only_cancelled(error: BaseException | None) -> bool:
    if isinstance(error, BaseExceptionGroup):
        return all(_only_cancelled(e) for e in error.exceptions)
    return isinstance(error, trio.Cancelled)


class DropCancellations(logging.Filter):
    """Drops a library's error report whose only cause is our own cancellation.

    coredis logs "Connection attempt failed unexpectedly!" at error when a shutdown cancels
    a connection still in its handshake; that is the shutdown working, not a fault.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and _only_cancelled(record.exc_info[1]))


_DROP_CANCELLATIONS = DropCancellations()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # hypercorn logs each request at info; our own lines are the useful ones
    logging.getLogger("hypercorn.access").setLevel(logging.WARNING)
    # coredis reports reloading a Lua script after a Redis restart as a retry at info
    coredis = logging.getLogger("coredis")
    coredis.setLevel(logging.WARNING)
    coredis.addFilter(_DROP_CANCELLATIONS)
