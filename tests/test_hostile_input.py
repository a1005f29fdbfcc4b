"""Hostile input at every route: non-ASCII digits, ids past 64 bits, deep nesting, NUL
bytes and over-long strings in every path parameter, query field and body field, signed
in and out. Every answer is a JSON 4xx: never a 5xx, never HTML, never a traceback.

The routes come from the app itself (its url_map and the models its routes validate), so
a new route is walked without touching this module; a new request body needs a valid
example in `VALID_BODIES`, which the body walk insists on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote

import httpx
import trio
from pydantic import BaseModel
from quart_schema.validation import (
    QUART_SCHEMA_QUERYSTRING_ATTRIBUTE,
    QUART_SCHEMA_REQUEST_ATTRIBUTE,
)

from pixtrio.edge.app import create_app
from pixtrio.edge.services import Services
from pixtrio.protocol.rest import (
    AccountDeleteIn,
    CommentIn,
    HashBlockIn,
    LoginIn,
    PasswordChangeIn,
    ProfileIn,
    PublishIn,
    RegisterIn,
    ReportIn,
    ResolveIn,
    RoleIn,
    SuspendIn,
    UploadUrlIn,
)
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import bearer, register, unique_name
from tests.support.images import jpeg
from tests.support.posts import post_photo
from tests.support.ws import connect

NON_ASCII_DIGITS = ("²", "¹", "٣", "١٢٣")
HUGE_IDS = ("9999999999999999999", str(2**63), str(2**64), "1" + "0" * 40)
NUL = "a\x00b"
OVER_LONG = "x" * 10_000
DEEP = "[" * 1_000 + "]" * 1_000
"""JSON text, as `json` itself cannot write what it cannot read."""
PATH_VALUES = (*NON_ASCII_DIGITS, *HUGE_IDS, "0", "-1", NUL, "x" * 5_000)
QUERY_VALUES = (*NON_ASCII_DIGITS, *HUGE_IDS, "-1", NUL, OVER_LONG)
RAW_BODIES = (
    "[" * 1_000 + "]" * 1_000,
    '{"a":' * 1_000 + "1" + "}" * 1_000,
    '{"size": ' + "9" * 5_000 + "}",  # past Python's 4,300-digit int limit
)
FREE_TEXT = {"password", "old_password", "new_password"}
"""Fields that take any text, NUL included: a password is hashed whole, never shown."""
WORD_ARGUMENTS = {"tag"}
"""Path parameters that take any word characters (a hashtag, whose digits may be any
script's), so a well-formed one names an empty list rather than nothing."""
RAW_BODY_ROUTES = (("PUT", "/upload/<token>"), ("PUT", "/api/me/avatar"))
"""Served by `server.streaming` ahead of the app, so not in its url_map."""


@dataclass(frozen=True)
class Route:
    method: str
    rule: str
    arguments: tuple[str, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    client_page: bool = False
    """A web client route: a name that could be a username is a page (the app shell)."""


def app_routes() -> list[Route]:
    """Every method and path the server answers, with the models it validates."""
    app = create_app(cast(Services, None))
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        body = getattr(view, QUART_SCHEMA_REQUEST_ATTRIBUTE, (None,))[0]
        query = getattr(view, QUART_SCHEMA_QUERYSTRING_ATTRIBUTE, None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append(Route(method, rule.rule, tuple(sorted(rule.arguments)), body, query,
                                rule.endpoint.startswith("web.")))
    for method, rule in RAW_BODY_ROUTES:
        arguments = tuple(part[1:-1] for part in rule.split("/") if part.startswith("<"))
        routes.append(Route(method, rule, arguments))
    return routes


ROUTES = app_routes()


def path(rule: str, values: dict[str, str]) -> str:
    """`rule` with each `<name>` or `<converter:name>` replaced by its escaped value."""
    parts = []
    for part in rule.split("/"):
        if part.startswith("<"):
            part = quote(values[part[1:-1].rpartition(":")[2]], safe="")
        parts.append(part)
    return "/".join(parts)


def refused(response: httpx.Response) -> str | None:
    """Why `response` is not a JSON 4xx in API.md's error shape; None if it is one."""
    if not 400 <= response.status_code < 500:
        return f"status {response.status_code}"
    return _json_error(response)


def shell_or_refused(response: httpx.Response) -> str | None:
    """Why `response` is neither the web client's HTML shell nor a JSON 4xx; None if it is."""
    if response.status_code == 200 and response.headers.get("content-type", "").startswith("text/html"):
        return None
    return refused(response)


def empty_or_refused(response: httpx.Response) -> str | None:
    """Why `response` is neither an empty JSON list of posts nor a JSON 4xx; None if it is."""
    if response.status_code == 200 and response.headers.get("content-type", "").startswith(
            "application/json") and response.json() == {"posts": [], "next_cursor": None}:
        return None
    return refused(response)


def handled(response: httpx.Response) -> str | None:
    """Why `response` is a 5xx or not JSON; None if it is neither."""
    if response.status_code >= 500:
        return f"status {response.status_code}"
    return None if response.status_code < 300 else _json_error(response)


def _json_error(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return f"{response.status_code} as {response.headers.get('content-type')}"
    error = response.json().get("error", {})
    if set(error) != {"code", "message"}:
        return f"{response.status_code} without an error body: {response.text[:200]}"
    return None


@dataclass
class World:
    """A signed-in user with a published post and a comment, for valid path parameters."""

    token: str
    username: str
    post_id: str
    comment_id: str
    media_url: str

    def arguments(self) -> dict[str, str]:
        return {"username": self.username, "post_id": self.post_id,
                "comment_id": self.comment_id, "key": self.media_url.removeprefix("/media/"),
                "token": "not-a-grant", "tag": "probe", "report_id": "1", "block_id": "1",
                "session_id": "probe"}


async def world(client: httpx.AsyncClient) -> World:
    token, user = await register(client)
    post = await post_photo(client, token, jpeg(40, 30), caption="a post to be probed")
    comment = await client.post(f"/api/posts/{post['post_id']}/comments", headers=bearer(token),
                                json={"text": "a comment to be probed"})
    assert comment.status_code == 201, comment.text
    return World(token, user["username"], post["post_id"], comment.json()["comment_id"],
                  post["media_url"])


VALID_BODIES: dict[type[BaseModel], Callable[[World], dict[str, Any]]] = {
    RegisterIn: lambda _: (lambda name: {"username": name, "email": f"{name}@example.com",
                                         "password": "correct horse"})(unique_name("h")),
    LoginIn: lambda w: {"login": w.username, "password": "correct horse"},
    ProfileIn: lambda _: {"display_name": "Probe", "bio": "probing"},
    UploadUrlIn: lambda _: {"content_type": "image/jpeg", "size": 100},
    PublishIn: lambda _: {"caption": "probing", "location": "here", "alt_text": "a photo"},
    CommentIn: lambda _: {"text": "probing"},
    ReportIn: lambda w: {"target": "post", "id": w.post_id, "reason": "spam", "text": "probe"},
    # a wrong password: the probes must neither change it nor delete the account
    PasswordChangeIn: lambda _: {"old_password": "not the password",
                                 "new_password": "another password"},
    AccountDeleteIn: lambda _: {"password": "not the password"},
    # moderators' bodies: the probing user is refused (403) whatever they hold
    ResolveIn: lambda _: {"action": "dismiss"},
    SuspendIn: lambda _: {"reason": "probing"},
    RoleIn: lambda _: {"role": "moderator"},
    HashBlockIn: lambda _: {"pdq": "0" * 64, "note": "probing"},
}


def hostile_values(model: type[BaseModel], field: str) -> Iterator[Any]:
    if model.model_fields[field].annotation is int:
        yield from (*NON_ASCII_DIGITS, 2**64, int(HUGE_IDS[-1]), -1)
    else:
        yield from (NUL, OVER_LONG)
    yield DEEP


def json_text(body: dict[str, Any]) -> str:
    """`body` as JSON, with a `DEEP` value spliced in as nesting rather than a string."""
    return json.dumps(body).replace(json.dumps(DEEP), DEEP)


def unhandled_errors(server: ServerProcess) -> int:
    return sum(e.get("msg") == "unhandled error" for e in server.log_entries())


async def probe(client: httpx.AsyncClient, route: Route, url: str, token: str | None,
                failures: list[str], *, content: str | bytes | None = None,
                check: Callable[[httpx.Response], str | None] = refused) -> None:
    headers = {**(bearer(token) if token else {}), "Content-Type": "application/json"}
    response = await client.request(route.method, url, headers=headers, content=content)
    problem = check(response)
    if problem is not None:
        failures.append(f"{route.method} {url[:120]} {'signed in' if token else 'signed out'}"
                        f" body={content[:120] if content else content!r}: {problem}")


async def test_hostile_url_parameters(client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    """Ids in non-ASCII digits or past 64 bits, NUL and over-long names in every path
    parameter (404 for an id that cannot exist), and the same in every query field of a
    listing of a real user or post: a JSON 4xx, signed in or out (a web client route may
    instead answer the app shell, as "0" or a 20-digit number is a well-formed username,
    and a hashtag's list may be empty, as digits of any script make a hashtag)."""
    before = unhandled_errors(live_server)
    w = await world(client)
    failures: list[str] = []
    with trio.fail_after(240):
        for route in (r for r in ROUTES if r.arguments):
            for value in PATH_VALUES:
                url = path(route.rule, dict.fromkeys(route.arguments, value))
                check = (shell_or_refused if route.client_page
                         else empty_or_refused if WORD_ARGUMENTS & set(route.arguments)
                         else refused)
                for signed_in in (w.token, None):
                    await probe(client, route, url, signed_in, failures, content="{}", check=check)
        for route in (r for r in ROUTES if r.query is not None):
            base = path(route.rule, w.arguments())
            for field in route.query.model_fields:  # type: ignore[union-attr]
                for value in QUERY_VALUES:
                    url = f"{base}?{field}={quote(value, safe='')}"
                    for signed_in in (w.token, None):
                        await probe(client, route, url, signed_in, failures)
    assert failures == [], "\n".join(failures)
    for id_route in ("/api/posts/²", "/api/posts/%D9%A3", f"/api/posts/{2**63}",
                     "/api/posts/9999999999999999999/comments"):
        answer = await client.get(id_route)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    for tag in ("x" * 101, "%00", "sun%00", "%2E%2E", "..%2Fposts", "sun%2F..", "%D9%A3%CC%81"):
        for tag_route in (f"/api/tags/{tag}/posts", f"/explore/tags/{tag}"):
            answer = await client.get(tag_route)
            assert answer.status_code == 404, (tag_route, answer.status_code)
            assert answer.json()["error"]["code"] == "not_found"
    for digits in NON_ASCII_DIGITS:
        answer = await client.get(f"/api/tags/{quote(digits)}/posts")
        assert answer.json() == {"posts": [], "next_cursor": None}
    assert unhandled_errors(live_server) == before


async def test_hostile_json_bodies(client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    """Every field of every JSON body with NUL, over-long text, non-ASCII digits, numbers
    past 64 bits or a 1,000-deep array, and whole bodies nested 1,000 deep: a JSON 4xx,
    signed in or out."""
    models = {route.body for route in ROUTES if route.body is not None}
    assert models <= set(VALID_BODIES), f"add a valid example of {models - set(VALID_BODIES)}"
    before = unhandled_errors(live_server)
    w = await world(client)
    failures: list[str] = []
    with trio.fail_after(240):
        for route in (r for r in ROUTES if r.body is not None):
            url = path(route.rule, w.arguments())
            for signed_in in (w.token, None):
                for raw in RAW_BODIES:
                    await probe(client, route, url, signed_in, failures, content=raw)
                for field in route.body.model_fields:  # type: ignore[union-attr]
                    for value in hostile_values(route.body, field):  # type: ignore[arg-type]
                        body = {**VALID_BODIES[route.body](w), field: value}  # type: ignore[index]
                        check = handled if field in FREE_TEXT and value == NUL else refused
                        await probe(client, route, url, signed_in, failures,
                                    content=json_text(body), check=check)
    assert failures == [], "\n".join(failures)
    assert unhandled_errors(live_server) == before


async def test_deep_nesting_is_refused_before_parsing(client: httpx.AsyncClient,
                                                      live_server: ServerProcess) -> None:
    """A 400 naming the nesting, with no traceback in the log; brackets inside strings
    are text, not nesting."""
    before = unhandled_errors(live_server)
    deep = '{"login": ' + "[" * 1_000 + "]" * 1_000 + ', "password": "x"}'
    answer = await client.post("/api/auth/login", content=deep,
                               headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "malformed_json"
    assert "nest" in answer.json()["error"]["message"]
    assert unhandled_errors(live_server) == before
    token, _ = await register(client)
    brackets = "[[[[[[[[[[" * 10 + " {{{{{{{{{{" * 5
    profile = await client.patch("/api/me", headers=bearer(token), json={"bio": brackets[:150]})
    assert profile.status_code == 200, profile.text
    assert profile.json()["bio"] == brackets[:150]


async def test_hostile_range_headers_get_the_whole_file(client: httpx.AsyncClient) -> None:
    """A Range in non-ASCII digits or past 64 bits is no range: the full answer."""
    w = await world(client)
    whole = await client.get(w.media_url)
    assert whole.status_code == 200
    for header in ("bytes=٣-", "bytes=0-٣", "bytes=" + "9" * 5_000 + "-", "bytes=-" + "9" * 5_000):
        answer = await client.get(w.media_url, headers={"Range": header.encode()})
        assert answer.status_code == 200, (header[:30], answer.status_code, answer.text[:200])
        assert answer.content == whole.content


async def test_a_resume_position_in_non_ascii_digits_is_no_position(live_server: ServerProcess,
                                                                    client: httpx.AsyncClient) -> None:
    """The websocket's `since` is a stream id in ASCII digits; anything else resumes
    nothing (`recovered: false`) rather than breaking the session."""
    token, _ = await register(client)
    for since in ("²-1", "1-٣", f"{2**64}-0", "9" * 20 + "-" + "9" * 20):
        with trio.fail_after(30):
            async with connect(live_server.url, token, since=since) as ws:
                assert ws.hello.recovered is False  # type: ignore[attr-defined]
