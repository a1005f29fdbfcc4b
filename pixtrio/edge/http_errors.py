"""The one mapping of failures to HTTP answers: domain errors, framework errors and stores
that are away, each rendered as API.md's JSON error shape."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, jsonify, request
from quart_schema import RequestSchemaValidationError
from quart_trio.wrappers import TrioRequest
from werkzeug.exceptions import HTTPException

from pixtrio.edge.ratelimits import quota_headers
from pixtrio.features.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidField,
    Malformed,
    NotAuthenticated,
    NotFound,
    RateLimited,
    TooLarge,
    Unavailable,
    Unsupported,
)
from pixtrio.storage.errors import StorageError

log = logging.getLogger("pixtrio.http")

HTTP_CODES = {
    400: "malformed_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_field",
    429: "rate_limited",
}


STATUS: dict[type[DomainError], int] = {
    Malformed: 400,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Unsupported: 415,
    InvalidField: 422,
    RateLimited: 429,
    Unavailable: 503,
}
"""The one mapping from the domain's errors to HTTP statuses."""


class HttpError(Exception):
    """An answer only HTTP has words for (a range past the end); everything else is a
    `DomainError`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str]) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def domain_answer(exc: DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The status, JSON body and headers answering `exc`."""
    status = next(STATUS[kind] for kind in type(exc).__mro__ if kind in STATUS)
    headers = {}
    retry_after = getattr(exc, "retry_after_s", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    quota = getattr(exc, "quota", None)
    if quota is not None:
        headers.update(quota_headers(quota))
    return status, error_body(exc.code, exc.message), headers


def storage_answer(exc: StorageError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A backing store that is away is the domain's `Unavailable`, logged once here."""
    log.warning("store unavailable: %s", exc)
    return domain_answer(Unavailable("a backing store is not answering; retry shortly"))


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def answer(status: int, body: dict[str, Any], headers: dict[str, str]) -> Response:
    """`body` as JSON with `status` and `headers` (the triple `domain_answer` gives)."""
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return answer(status, error_body(code, message), headers or {})


def _validation_message(exc: RequestSchemaValidationError) -> tuple[int, str]:
    error = exc.validation_error
    if not isinstance(error, ValidationError):
        return 400, f"the request body could not be read: {error}"
    first = error.errors()[0]
    loc = ".".join(str(part) for part in first["loc"])
    if not loc:
        return 400, "the request body must be a JSON object (Content-Type: application/json)"
    return 422, f"{loc}: {first['msg']}"


class JsonRequest(TrioRequest):
    """A request whose body is always read as JSON, whatever its Content-Type says.

    An unreadable body is a clear 400 rather than a generic one or a 500.
    """

    async def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return await super().get_json(True, silent, cache)
        except UnicodeDecodeError:
            raise Malformed("the request body is not UTF-8", code="malformed_json") from None

    def on_json_loading_failed(self, error: Exception) -> Any:
        raise Malformed(f"the request body is not valid JSON: {error}", code="malformed_json")


def install_error_handlers(app: Quart) -> None:
    """Make every error, including routing and framework errors, a JSON error body."""

    @app.errorhandler(DomainError)
    async def domain_error(exc: DomainError) -> Response:
        return answer(*domain_answer(exc))

    @app.errorhandler(HttpError)
    async def http_only_error(exc: HttpError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.errorhandler(RequestSchemaValidationError)
    async def schema_error(exc: RequestSchemaValidationError) -> Response:
        status, message = _validation_message(exc)
        return error_response(status, HTTP_CODES[status], message)

    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = {
            404: f"no route for {request.path}",
            405: f"{request.method} is not allowed on {request.path}",
        }.get(status, exc.description or exc.name)
        headers = {}
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
        return error_response(status, code, message, headers)

    @app.errorhandler(StorageError)
    async def storage_error(exc: StorageError) -> Response:
        return answer(*storage_answer(exc))

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "the server failed to handle this request")
