"""The streaming body layer: routes that take raw bytes (edge/routes/uploads.py) read straight
from the server.

Quart collects a request body into memory before a route sees it; this ASGI layer in front
of the app hands these routes the body chunk by chunk instead, pulling each chunk only
when the previous one is on disk, so a 25 MB upload never sits in memory. Every other
request goes to the Quart app untouched.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from pixtrio.edge.http_errors import domain_answer, error_body, storage_answer
from pixtrio.edge.routes.uploads import put_avatar, put_upload
from pixtrio.edge.services import Services
from pixtrio.features.errors import DomainError
from pixtrio.storage.errors import StorageError

log = logging.getLogger("pixtrio.http")

Scope = Any  # ASGI's typed dicts, kept loose: this layer reads a few plain keys
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


class ClientGone(Exception):
    """The client disconnected before sending the whole body."""


class Body:
    """The request body as an async iterator of chunks; remembers whether it was all read."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.complete = False

    async def chunks(self) -> AsyncIterator[bytes]:
        while not self.complete:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            self.complete = not message.get("more_body", False)
            if message.get("body"):
                yield message["body"]


Handler = Callable[[Services, Scope, "Body", str], Awaitable[tuple[int, Any, dict[str, str]]]]
"""A raw-body route: (services, scope, body, the path's argument) -> (status, JSON answer,
headers)."""


class StreamingBodies:
    """ASGI layer in front of the app: `PUT /upload/<token>` and `PUT /api/me/avatar` are
    answered here with the body streamed; everything else goes to the app."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self._app = app
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            path: str = scope["path"]
            if path.startswith("/upload/"):
                return await self._answer(scope, receive, send, put_upload, path[len("/upload/"):])
            if path == "/api/me/avatar":
                return await self._answer(scope, receive, send, put_avatar, "")
        await self._app(scope, receive, send)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        handler: Handler,
        arg: str,
    ) -> None:
        """Run `handler` and answer like every other route: compact UTF-8 JSON, errors
        through the one mapping in http_errors. An answer sent before the whole body was
        read closes the connection."""
        body = Body(receive)
        headers: dict[str, str] = {}
        try:
            status, answer, headers = await handler(self._services, scope, body, arg)
        except ClientGone:
            return
        except DomainError as exc:
            status, answer, headers = domain_answer(exc)
        except StorageError as exc:
            status, answer, headers = storage_answer(exc)
        except Exception:
            log.exception("unhandled error")
            status, answer = 500, error_body("internal_error", "the server failed to handle this request")
        if not body.complete:  # answered early: the rest of the body is not wanted
            headers["Connection"] = "close"
        payload = orjson.dumps(answer)
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                        *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        })
        await send({"type": "http.response.body", "body": payload})

