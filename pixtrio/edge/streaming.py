"""Routes that take raw bytes — upload URLs and avatars — read straight from the server.

Quart collects a request body into memory before a route sees it; this ASGI layer in front
of the app hands these routes the body chunk by chunk instead, pulling each chunk only
when the previous one is on disk, so a 25 MB upload never sits in memory. Every other
request goes to the Quart app untouched.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pixtrio.edge.auth import parse_bearer
from pixtrio.edge.http_errors import ApiError
from pixtrio.edge.services import Services
from pixtrio.features.views import user_view
from pixtrio.storage.errors import StorageError
from pixtrio.storage.types import User

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


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class StreamingBodies:
    def __init__(self, app: ASGIApp, services: Services) -> None:
        self._app = app
        self._services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "PUT":
            path: str = scope["path"]
            if path.startswith("/upload/"):
                return await self._answer(scope, receive, send, self._upload, path[len("/upload/"):])
            if path == "/api/me/avatar":
                return await self._answer(scope, receive, send, self._avatar, "")
        await self._app(scope, receive, send)

    async def _answer(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        handler: Callable[[Scope, Body, str], Awaitable[tuple[int, dict[str, Any]]]],
        arg: str,
    ) -> None:
        body = Body(receive)
        headers: dict[str, str] = {}
        try:
            status, answer = await handler(scope, body, arg)
        except ClientGone:
            return
        except ApiError as exc:
            status, answer, headers = exc.status, _error(exc.code, exc.message), exc.headers
        except StorageError as exc:
            log.warning("store unavailable: %s", exc)
            status, answer = 503, _error("unavailable", "a backing store is not answering; retry shortly")
            headers = {"Retry-After": "1"}
        except Exception:
            log.exception("unhandled error")
            status, answer = 500, _error("internal_error", "the server failed to handle this request")
        if not body.complete:  # answered early: the rest of the body is not wanted
            headers["Connection"] = "close"
        payload = json.dumps(answer).encode()
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                        *((k.lower().encode(), v.encode()) for k, v in headers.items())],
        })
        await send({"type": "http.response.body", "body": payload})

    async def _bearer_user(self, scope: Scope) -> User | None:
        """The user of the request's bearer token; None without one. 401 if it is bad."""
        token = parse_bearer(header(scope, b"authorization"))
        if token is None:
            return None
        user = await self._services.accounts.authenticate(token)
        if user is None:
            raise ApiError(401, "invalid_token", "the token is unknown or revoked")
        return user

    async def _upload(self, scope: Scope, body: Body, token: str) -> tuple[int, dict[str, Any]]:
        uploads = self._services.uploads
        grant = uploads.verify(token)
        signed_in = await self._bearer_user(scope)
        if signed_in is not None and signed_in.user_id != grant.user_id:
            raise ApiError(403, "forbidden", "this upload URL belongs to another account")
        length = header(scope, b"content-length")
        received = await uploads.receive(
            grant, body.chunks(), content_type=header(scope, b"content-type"),
            content_length=int(length) if length and length.isdigit() else None,
        )
        return 201, {"post_id": str(received.post_id), "received_bytes": received.received_bytes,
                     "sha256": received.sha256}

    async def _avatar(self, scope: Scope, body: Body, _: str) -> tuple[int, dict[str, Any]]:
        user = await self._bearer_user(scope)
        if user is None:
            raise ApiError(401, "not_authenticated", "sign in: send Authorization: Bearer <token>")
        length = header(scope, b"content-length")
        if length and length.isdigit() and int(length) > self._services.avatars.max_bytes:
            raise ApiError(413, "too_large", f"the body is longer than {self._services.avatars.max_bytes} bytes")
        updated = await self._services.avatars.replace(user, body.chunks())
        return 200, user_view(updated, with_email=True)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
