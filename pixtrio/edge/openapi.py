"""What `/openapi.json` says a route answers besides its success: each error status it
gives, with API.md's error body, a 204 as an answer without a body, answers that are not
JSON, and the raw-body routes that `streaming.py` serves beneath the framework."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from quart_schema import document_response
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing import Rule

from pixtrio.features.posts.uploads import PHOTO_TYPES, UPLOAD_TYPES
from pixtrio.protocol.rest import ErrorOut, MeOut, UploadedOut

T = TypeVar("T", bound=Callable[..., Any])
EXTRA = "_pixtrio_openapi"


class NoContent(BaseModel):
    """No body."""


def errors(*statuses: int) -> Callable[[T], T]:
    """Document that the route answers each of `statuses` with `ErrorOut`."""

    def decorator(route: T) -> T:
        for status in statuses:
            route = document_response(ErrorOut, status)(route)
        return route

    return decorator


def no_content(route: T) -> T:
    """Document the route's 204, which has no body."""
    return document_response(NoContent, 204)(route)


def body(description: str, *media_types: str) -> dict[str, Any]:
    """An answer whose body is bytes of `media_types` (none: no body)."""
    answer: dict[str, Any] = {"description": description}
    if media_types:
        answer["content"] = {t: {"schema": {"type": "string", "format": "binary"}}
                             for t in media_types}
    return answer


def header(name: str, description: str) -> dict[str, Any]:
    """An optional request header parameter."""
    return {"name": name, "in": "header", "required": False, "description": description,
            "schema": {"type": "string"}}


def query(name: str, description: str) -> dict[str, Any]:
    """An optional query string parameter (for routes without a querystring model)."""
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "string"}}


def extra(*, responses: dict[int, dict[str, Any]],
          parameters: tuple[dict[str, Any], ...] = ()) -> Callable[[T], T]:
    """Document what quart-schema's decorators cannot: answers that are not JSON (`body`)
    and request headers (`header`) or query parameters (`query`)."""

    def decorator(route: T) -> T:
        setattr(route, EXTRA, (responses, parameters))
        return route

    return decorator


RAW_BODY_ROUTES: dict[str, dict[str, Any]] = {
    "/upload/{token}": {
        "summary": "Send a new post's photo or video to the upload URL.",
        "description": "The raw bytes, with the Content-Type declared at `POST "
                       "/api/posts/upload-url` and exactly the declared size. The URL alone "
                       "authorises the PUT; a bearer token, if sent, must be its owner's.",
        "operationId": "put_upload",
        "parameters": [{"name": "token", "in": "path", "required": True,
                        "description": "the last part of `upload_url`",
                        "schema": {"type": "string"}}],
        "security": [{}, {"bearer": []}],
        "media_types": sorted(UPLOAD_TYPES),
        "success": (201, UploadedOut),
        # 400 short body; 401 bad token; 403 forged, expired or another's URL; 409 used;
        # 413 longer than declared; 415 not the declared type
        "errors": (400, 401, 403, 409, 413, 415, 503),
    },
    "/api/me/avatar": {
        "summary": "Replace the signed-in user's avatar.",
        "description": "The raw bytes of an image; its type is read from the bytes.",
        "operationId": "put_avatar",
        "parameters": [],
        "security": [{"bearer": []}],
        "media_types": sorted(PHOTO_TYPES),
        "success": (200, MeOut),
        # 415 not an image; 422 an image that cannot be decoded; 429 over `uploads`
        "errors": (401, 413, 415, 422, 429, 503),
    },
}
"""Routes whose bodies `streaming.py` reads before the app: no route function to decorate."""


class Provider(OpenAPIProvider):
    """quart-schema's document, with `NoContent` answers documented without a body, the
    answers and headers of `extra`, and `RAW_BODY_ROUTES`."""

    def build_response_object(
        self, model: Any, headers_model: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if model is NoContent:
            return {"description": NoContent.__doc__}, {}
        return super().build_response_object(model, headers_model)

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        paths, components = super().build_paths(rule)
        responses, parameters = getattr(self._app.view_functions[rule.endpoint], EXTRA, ({}, ()))
        for operations in paths.values():
            for name, operation in operations.items():
                operations[name] = {
                    **operation,
                    "parameters": [*operation["parameters"], *parameters],
                    "responses": {**operation["responses"], **responses},
                }
        return paths, components

    def schema(self) -> dict[str, Any]:
        document = super().schema()
        for path, route in RAW_BODY_ROUTES.items():
            status, model = route["success"]
            responses = {}
            for code, answer in [(status, model), *((e, ErrorOut) for e in route["errors"])]:
                responses[code], components = self.build_response_object(answer, None)
                document["components"]["schemas"].update(components)
            document["paths"][path] = {"put": {
                "summary": route["summary"],
                "description": route["description"],
                "operationId": route["operationId"],
                "parameters": route["parameters"],
                "security": route["security"],
                "requestBody": {"required": True, "content": {
                    t: {"schema": {"type": "string", "format": "binary"}}
                    for t in route["media_types"]}},
                "responses": responses,
            }}
        return document
