"""The one mapping of failures to websocket `error` frames.

A command refused over `/ws` reads exactly as the same refusal over HTTP: the same `code`
and message (edge/http_errors.py gives the status). Websocket commands that reach the
features (messages, from issue 19 on) answer their failures through here.
"""

from __future__ import annotations

from pixtrio.edge.http_errors import storage_answer
from pixtrio.features.errors import DomainError
from pixtrio.protocol.messages import Error
from pixtrio.storage.errors import StorageError


def error_frame(exc: DomainError | StorageError) -> Error:
    """The `error` frame for `exc`; a store that is away is `unavailable`, logged once."""
    if isinstance(exc, DomainError):
        return Error(exc.code, exc.message)
    _, body, _ = storage_answer(exc)
    return Error(body["error"]["code"], body["error"]["message"])
