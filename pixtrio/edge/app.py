"""The app factory: a quart-trio app wired to one process's services."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Response, request
from quart_schema import Info, QuartSchema
from quart_trio import QuartTrio

from pixtrio.edge import openapi
from pixtrio.edge.compression import gzip_json
from pixtrio.edge.http_errors import JsonRequest, install_error_handlers
from pixtrio.edge.json_provider import OrjsonProvider
from pixtrio.edge.ratelimits import add_quota_headers
from pixtrio.edge.routes import (
    accounts,
    docs,
    feed,
    hash_blocklist,
    media,
    moderation,
    ops,
    posts,
    relations,
    users,
    web,
)
from pixtrio.edge.services import Services

MAX_JSON_BODY = 1024 * 1024


async def read_body_first() -> None:
    """Receive the whole (size-capped) body before any answer, even a 401, 404 or 405.

    Answering while the body is still arriving lets a keep-alive client send its next
    request in the same TCP read as the rest of this body, and hypercorn's HTTP/1.1
    connection recycling can then stall that connection for good.
    """
    await request.get_data(cache=True)


MakeResponse = Callable[[Any], Awaitable[Any]]


def plain_values_skip_conversion(plain: MakeResponse, converting: MakeResponse) -> MakeResponse:
    """QuartSchema runs every return value through a new pydantic TypeAdapter, which for a
    feed page costs more than encoding it. Our routes return JSON-ready dicts and lists,
    which the orjson provider encodes as they are (dataclasses natively, pydantic values
    through `to_jsonable_python`), or finished responses; only other values are
    converted."""

    async def make_response(result: Any) -> Any:
        value = result[0] if isinstance(result, tuple) else result
        if isinstance(value, dict | list | Response):
            return await plain(result)
        return await converting(result)

    return make_response


def create_app(services: Services) -> QuartTrio:
    """A ready-to-serve ASGI app; it owns no resources (the runtime does)."""
    app = QuartTrio("pixtrio", static_folder=None)
    # werkzeug answers "//" in a path with an HTML 308 to a URL built from the Host header
    app.url_map.merge_slashes = False
    app.request_class = JsonRequest
    app.config["MAX_CONTENT_LENGTH"] = MAX_JSON_BODY
    app.extensions["pixtrio"] = services
    make_plain_response = app.make_response
    QuartSchema(
        app,
        info=Info(title="Pixtrio API", version="1"),
        openapi_path="/openapi.json",
        swagger_ui_path=None,  # ours is served offline by routes/docs.py
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
        openapi_provider_class=openapi.Provider,
    )
    app.json = OrjsonProvider(app)  # after QuartSchema, which installs its own
    app.make_response = plain_values_skip_conversion(  # type: ignore[method-assign,assignment]
        make_plain_response, app.make_response)
    install_error_handlers(app)
    app.before_request(read_body_first)
    app.after_request(gzip_json)
    app.after_request(add_quota_headers)
    for blueprint in (ops.bp, docs.bp, accounts.bp, users.bp, relations.bp, posts.bp, feed.bp,
                      media.bp, moderation.bp, hash_blocklist.bp, web.bp):
        app.register_blueprint(blueprint)
    return app
