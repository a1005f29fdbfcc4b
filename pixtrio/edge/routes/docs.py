"""`/docs`: Swagger UI on `/openapi.json`, every file of it served from this server.

Swagger UI's own files come from the `swagger-ui-py` package; the page and its start-up
script are ours, so the page works offline and carries a strict Content-Security-Policy.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from quart import Blueprint, Response, current_app
from quart.blueprints import BlueprintSetupState
from quart_schema import hide

from pixtrio.edge.routes.media import IMMUTABLE
from pixtrio.edge.routes.web import answer
from pixtrio.edge.web_client import CONTENT_TYPES, WebFile, web_file
from pixtrio.features.errors import not_found

bp = Blueprint("docs", __name__)

WEB_DOCS = Path(__file__).resolve().parents[3] / "web" / "docs"
ASSET_FILES = {
    "swagger-ui.css": "swagger_ui",
    "swagger-ui-bundle.js": "swagger_ui",
    "favicon-32x32.png": "swagger_ui",
    "swagger-init.js": "pixtrio",
}
"""Each file the page loads, and where it comes from."""
CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # Swagger UI styles its markup through the DOM (element.style), which CSP allows:
    # with every operation and model expanded, Chromium reports no violation
    "style-src 'self'",
    "img-src 'self' data:",  # its icons are data: URIs in its CSS
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


def swagger_ui_dir() -> Path:
    """The folder of Swagger UI's dist files inside `swagger-ui-py` (its framework glue is
    not imported)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the swagger-ui-py package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def load_assets() -> dict[str, WebFile]:
    """Read every asset once; a file missing is an error at start-up, not a blank page."""
    folders = {"swagger_ui": swagger_ui_dir(), "pixtrio": WEB_DOCS}
    return {name: web_file((folders[source] / name).read_bytes(),
                           CONTENT_TYPES[Path(name).suffix])
            for name, source in ASSET_FILES.items()}


@bp.record_once
def _load(state: BlueprintSetupState) -> None:
    state.app.extensions["pixtrio.docs"] = load_assets()


def assets() -> dict[str, WebFile]:
    loaded: dict[str, WebFile] = current_app.extensions["pixtrio.docs"]
    return loaded


def digest(file: WebFile) -> str:
    """The file's content hash, as its URL carries it."""
    return file.etag.strip('"')


def asset_url(name: str) -> str:
    """A URL naming the file's content, so it can be cached for good."""
    return f"/docs/assets/{digest(assets()[name])}/{name}"


@bp.get("/docs")
@hide
async def docs_page() -> Response:
    """The API docs page: Swagger UI, with nothing loaded from another origin."""
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pixtrio API</title>
<link rel="icon" type="image/png" href="{asset_url("favicon-32x32.png")}">
<link rel="stylesheet" href="{asset_url("swagger-ui.css")}">
</head>
<body>
<main id="swagger-ui"></main>
<script src="{asset_url("swagger-ui-bundle.js")}"></script>
<script src="{asset_url("swagger-init.js")}"></script>
</body>
</html>
"""
    return Response(page, content_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": CSP,
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    })


@bp.get("/docs/assets/<content>/<name>")
@hide
async def docs_asset(content: str, name: str) -> Response:
    """One of the page's files; 404 unless `content` is its current content hash."""
    asset = assets().get(name)
    if asset is None or digest(asset) != content:
        raise not_found("asset")
    return answer(asset, IMMUTABLE)
