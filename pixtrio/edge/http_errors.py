"""API errors and the handlers that render every failure as API.md's JSON error shape."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from quart import Quart, Response, jsonify, request
from quart_schema import RequestSchemaValidationError
from quart_trio.wrappers import TrioRequest
from werkzeug.exceptions import HTTPException

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


class ApiError(Exception):
    """An error the client caused or must know about, rendered as `{"error": {...}}`."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def invalid(field: str, message: str) -> ApiError:
    """A 422 naming `field`."""
    return ApiError(422, "invalid_field", f"{field}: {message}")


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


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
            raise ApiError(400, "malformed_json", "the request body is not UTF-8") from None

    def on_json_loading_failed(self, error: Exception) -> Any:
        raise ApiError(400, "malformed_json", f"the request body is not valid JSON: {error}")


def install_error_handlers(app: Quart) -> None:
    """Make every error, including routing and framework errors, a JSON error body."""

    @app.errorhandler(ApiError)
    async def api_error(exc: ApiError) -> Response:
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
        log.warning("store unavailable: %s", exc)
        return error_response(
            503, "unavailable", "a backing store is not answering; retry shortly",
            {"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "the server failed to handle this request")
