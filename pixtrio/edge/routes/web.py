"""The browser client: the app shell at every client route, and `web/`'s files."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, request
from quart.blueprints import BlueprintSetupState
from quart_schema import hide

from pixtrio.edge.routes.media import IMMUTABLE, etag_matches
from pixtrio.edge.web_client import WebClient, WebFile, accepts_gzip, content_security_policy
from pixtrio.features.accounts.service import RESERVED_USERNAMES, USERNAME
from pixtrio.features.errors import not_found
from pixtrio.features.ids import parse_id
from pixtrio.features.text import tag_key

bp = Blueprint("web", __name__)
REVALIDATE = "no-cache"


@bp.record_once
def _load(state: BlueprintSetupState) -> None:
    state.app.extensions["pixtrio.web"] = WebClient.load()


def web_client() -> WebClient:
    client: WebClient = current_app.extensions["pixtrio.web"]
    return client


def answer(file: WebFile, cache_control: str) -> Response:
    """`file` with a strong ETag, or a 304 when the client holds those bytes already.

    A file with a gzip variant is answered with `Vary: Accept-Encoding`, and with that
    variant (`Content-Encoding: gzip`, its own ETag) when the request accepts gzip; a
    304 needs the ETag of the variant that would be served."""
    headers = {"ETag": file.etag, "Cache-Control": cache_control,
               "X-Content-Type-Options": "nosniff"}
    body, encoded = file.body, {}
    if file.gzip is not None:
        headers["Vary"] = "Accept-Encoding"
        if accepts_gzip(request.headers.get("Accept-Encoding")):
            body, headers["ETag"], encoded = file.gzip, file.gzip_etag, {"Content-Encoding": "gzip"}
    if etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
        return Response(b"", 304, headers)
    return Response(body, 200, headers | encoded, content_type=file.content_type)


def shell() -> Response:
    response = answer(web_client().shell, REVALIDATE)
    response.headers["Content-Security-Policy"] = content_security_policy(request.host)
    return response


@bp.get("/")
@bp.get("/login")
@bp.get("/signup")
@bp.get("/new")
@bp.get("/settings")
@bp.get("/requests")
@bp.get("/mod")
@hide
async def app_page() -> Response:
    """The app shell; the client picks the screen from the path."""
    return shell()


@bp.get("/p/<post_id>")
@hide
async def post_page(post_id: str) -> Response:
    """The app shell for a post id; a JSON 404 for what cannot be one."""
    if parse_id(post_id) is None:
        raise not_found("page")
    return shell()


@bp.get("/explore/tags/<tag>")
@hide
async def tag_page(tag: str) -> Response:
    """The app shell for a hashtag (any case); a JSON 404 for what no hashtag can be."""
    if tag_key(tag) is None:
        raise not_found("page")
    return shell()


@bp.get("/<username>")
@bp.get("/<username>/followers")
@bp.get("/<username>/following")
@hide
async def profile_page(username: str) -> Response:
    """The app shell for what could be a username (any case); a JSON 404 for anything
    else, including the reserved words, so `/api/...` and other server paths stay 404s."""
    name = username.lower() if username.isascii() else ""  # "\u212a".lower() is "k"
    if not USERNAME.fullmatch(name) or name in RESERVED_USERNAMES:
        raise not_found("page")
    return shell()


@bp.get("/assets/<path:name>")
@hide
async def asset(name: str) -> Response:
    """A file of `web/`: immutable under the release hash, revalidated without it."""
    found = web_client().find(name)
    if found is None:
        raise not_found("asset")
    file, hashed = found
    return answer(file, IMMUTABLE if hashed else REVALIDATE)
