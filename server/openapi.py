"""What `/openapi.json` says a route answers besides its success: each error status it
gives, with API.md's error body, and a 204 as an answer without a body."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel
from quart_schema import document_response
from quart_schema.openapi import OpenAPIProvider

from protocol.rest import ErrorOut

T = TypeVar("T", bound=Callable[..., Any])


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


class Provider(OpenAPIProvider):
    """quart-schema's document, with `NoContent` answers documented without a body."""

    def build_response_object(
        self, model: Any, headers_model: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if model is NoContent:
            return {"description": NoContent.__doc__}, {}
        return super().build_response_object(model, headers_model)
