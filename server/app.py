"""The app factory: a quart-trio app wired to one process's services."""

from __future__ import annotations

from quart import request
from quart_schema import Info, QuartSchema
from quart_trio import QuartTrio

from .errors import JsonRequest, install_error_handlers
from .json_provider import OrjsonProvider
from .routes import accounts, feed, media, ops, posts, users
from .services import Services

MAX_JSON_BODY = 1024 * 1024


async def read_body_first() -> None:
    """Receive the whole (size-capped) body before any answer, even a 401, 404 or 405.

    Answering while the body is still arriving lets a keep-alive client send its next
    request in the same TCP read as the rest of this body, and hypercorn's HTTP/1.1
    connection recycling can then stall that connection for good.
    """
    await request.get_data(cache=True)


def create_app(services: Services) -> QuartTrio:
    """A ready-to-serve ASGI app; it owns no resources (the runtime does)."""
    app = QuartTrio("pixtrio", static_folder=None)
    app.request_class = JsonRequest
    app.config["MAX_CONTENT_LENGTH"] = MAX_JSON_BODY
    app.extensions["pixtrio"] = services
    QuartSchema(
        app,
        info=Info(title="Pixtrio API", version="1"),
        openapi_path="/openapi.json",
        swagger_ui_path="/docs",
        redoc_ui_path=None,
        scalar_ui_path=None,
        security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
    )
    app.json = OrjsonProvider(app)  # after QuartSchema, which installs its own
    install_error_handlers(app)
    app.before_request(read_body_first)
    for blueprint in (ops.bp, accounts.bp, users.bp, posts.bp, feed.bp, media.bp):
        app.register_blueprint(blueprint)
    return app
