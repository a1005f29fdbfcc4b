"""The web client as HTTP serves it: the app shell at every client route with a strict
Content-Security-Policy, content-hashed immutable assets, revalidation by ETag, and no
way out of `web/`; server paths keep their own answers."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import trio

from pixtrio.testing.server_process import ServerProcess
from tests.support.api import register, unique_name
from tests.support.pages import csp, page_links

CLIENT_ROUTES = ("/", "/login", "/signup", "/new", "/settings", "/requests", "/mod", "/p/1234567890",
                 "/someone", "/Some.One_2", "/someone/followers", "/someone/following",
                 "/explore/tags/sunset", "/explore/tags/Caf%C3%A9", "/explore/tags/%D9%A3",
                 "/explore/tags/i%CC%87stanbul", "/explore/tags/" + "x" * 100)
IMMUTABLE = "public, max-age=31536000, immutable"
HASHED = re.compile(r"/assets/[0-9a-f]{16}/[A-Za-z0-9._/-]+")
IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']""")
"""A module specifier in `import ... from "x"`, `export ... from "x"` or `import("x")`."""
DYNAMIC_IMPORT = re.compile(r"""\bimport\s*\(\s*["']([^"']+)["']""")
"""A module specifier in `import("x")` only: a module fetched when the code asks for it."""
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
ETAG = re.compile(r'"[0-9a-f]{32}(-gz)?"')
"""Strong (no W/); `-gz` names a file's gzip variant."""
WEB = Path(__file__).resolve().parents[1] / "web"
ASKS_GZIP = ("gzip", "GZIP;Q=0.5", "deflate, gzip;q=1.0", "x-gzip", "*", "br, *;q=0.1",
             "identity;q=0, gzip", "gzip;q=0.001, identity")
REFUSES_GZIP = ("", "identity", "br, deflate", "gzip;q=0", "gzip; q=0.000", "gzip;q=0, *",
                "*;q=0", "*;q=0, identity", "gzip;q=2", "gzip;q=0.0001", "gzip;q=x")
"""Accept-Encoding values (RFC 9110 12.5.3); a qvalue that is not one counts as 0."""


def assert_json_404(response: httpx.Response) -> None:
    assert response.status_code == 404, (response.url, response.status_code, response.text[:200])
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["code"] == "not_found"


async def test_every_client_route_answers_the_shell_with_a_strict_policy(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    with trio.fail_after(30):
        front = await client.get("/")
        for route in CLIENT_ROUTES:
            answer = await client.get(route)
            assert answer.status_code == 200, (route, answer.text[:200])
            assert answer.headers["content-type"] == "text/html; charset=utf-8"
            assert answer.content == front.content
            assert answer.headers["cache-control"] == "no-cache"
            assert answer.headers["etag"] == front.headers["etag"]
            assert answer.headers["x-content-type-options"] == "nosniff"
            host = urlsplit(live_server.url).netloc
            assert csp(answer) == {
                "default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
                "img-src": "'self' data: blob:", "media-src": "'self' blob:",
                "connect-src": f"'self' ws://{host} wss://{host}",
                "object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'",
                "form-action": "'self'",
            }
        assert page_links(front.text).inline == []


async def test_a_host_header_cannot_write_the_policy(client: httpx.AsyncClient) -> None:
    """Only a plain host[:port] is named in connect-src; anything else leaves `'self'`."""
    with trio.fail_after(30):
        named = await client.get("/login", headers={"Host": "pix.example:8443"})
        assert csp(named)["connect-src"] == "'self' ws://pix.example:8443 wss://pix.example:8443"
        for host in ("evil.example; script-src *", "[::1]:8080", "a b"):
            answer = await client.get("/login", headers={"Host": host})
            assert answer.status_code in (200, 400), (host, answer.status_code)
            if answer.status_code == 200:
                assert csp(answer)["connect-src"] == "'self'", host
                assert csp(answer)["script-src"] == "'self'", host


async def test_the_shell_revalidates_with_its_etag(client: httpx.AsyncClient) -> None:
    with trio.fail_after(30):
        first = await client.get("/settings")
        etag = first.headers["etag"]
        assert ETAG.fullmatch(etag)
        again = await client.get("/settings", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        changed = await client.get("/settings", headers={"If-None-Match": '"0000"'})
        assert changed.status_code == 200 and changed.content == first.content


async def test_the_shell_loads_only_hashed_same_origin_assets_that_answer(
        client: httpx.AsyncClient) -> None:
    """Every URL in the shell, and every module those scripts import (followed through the
    import graph), is an immutable `/assets/<hash>/...` URL of this server that answers
    200 with its type, and 304 to its own ETag. The shell preloads exactly the modules
    app.js imports statically, directly or not, so none waits for its importer to arrive;
    the screens it imports dynamically load when first shown."""
    with trio.fail_after(60):
        shell = await client.get("/")
        pending = page_links(shell.text).urls
        entry = next(u for u in pending if u.endswith("/app.js"))
        preloaded = {u for u in pending if u.endswith(".js") and u != entry}
        static_edges: dict[str, list[str]] = {}
        dynamic: set[str] = set()
        assert any(u.endswith("/app.js") for u in pending)
        assert any(u.endswith("/app.css") for u in pending)
        seen: set[str] = set()
        while pending:
            url = pending.pop()
            if url in seen:
                continue
            seen.add(url)
            assert HASHED.fullmatch(url), f"{url} is not a hashed same-origin asset"
            answer = await client.get(url)
            assert answer.status_code == 200, (url, answer.status_code)
            assert answer.headers["cache-control"] == IMMUTABLE
            assert answer.headers["x-content-type-options"] == "nosniff"
            suffix = url[url.rindex("."):]
            assert answer.headers["content-type"].startswith(CONTENT_TYPES[suffix]), url
            etag = answer.headers["etag"]
            assert ETAG.fullmatch(etag)
            cached = await client.get(url, headers={"If-None-Match": etag})
            assert cached.status_code == 304 and cached.content == b""
            if suffix == ".js":
                found = [urljoin(url, spec) for spec in IMPORT.findall(answer.text)]
                later = {urljoin(url, spec) for spec in DYNAMIC_IMPORT.findall(answer.text)}
                static_edges[url] = [u for u in found if u not in later]
                dynamic.update(later)
                pending += found
        assert any("/vendor/preact-" in u for u in seen)  # the import graph was followed
        static, reach = set(), [entry]
        while reach:
            for module in static_edges[reach.pop()]:
                if module not in static:
                    static.add(module)
                    reach.append(module)
        assert static == preloaded
        assert any(u.endswith("/screens/profile.js") for u in dynamic - preloaded)


async def test_unhashed_asset_urls_revalidate_and_old_hashes_are_gone(
        client: httpx.AsyncClient) -> None:
    with trio.fail_after(30):
        shell = await client.get("/")
        hashed = next(u for u in page_links(shell.text).urls if u.endswith("/app.js"))
        plain = await client.get("/assets/app.js")
        assert plain.status_code == 200
        assert plain.headers["cache-control"] == "no-cache"
        assert plain.content == (await client.get(hashed)).content
        assert (await client.get("/assets/app.js", headers={"If-None-Match": plain.headers["etag"]})
                ).status_code == 304
        assert_json_404(await client.get("/assets/0123456789abcdef/app.js"))


def preact() -> Path:
    """The vendored Preact module: 11 KB of script, a file worth compressing."""
    (found,) = WEB.glob("vendor/preact-*/preact.module.js")
    return found


async def raw_get(client: httpx.AsyncClient, url: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent, before httpx undoes any Content-Encoding."""
    async with client.stream("GET", url, headers=headers) as response:
        return response, b"".join([part async for part in response.aiter_raw()])


async def test_assets_are_gzipped_for_clients_that_accept_it(client: httpx.AsyncClient) -> None:
    """A compressible asset comes gzipped (same bytes once decoded, a Content-Length that
    counts the encoded ones, its own ETag) when Accept-Encoding allows gzip, as it is when
    not, with `Vary: Accept-Encoding` either way and still immutable."""
    with trio.fail_after(60):
        shell = await client.get("/")
        version = next(u for u in page_links(shell.text).urls if u.endswith("/app.js")).split("/")[2]
        url = f"/assets/{version}/{preact().relative_to(WEB).as_posix()}"
        plain, body = await raw_get(client, url, **{"Accept-Encoding": "identity"})
        assert body == preact().read_bytes()
        assert "content-encoding" not in plain.headers
        assert plain.headers["vary"] == "Accept-Encoding"
        assert re.fullmatch(r'"[0-9a-f]{32}"', plain.headers["etag"])
        for accept in ASKS_GZIP:
            packed, raw = await raw_get(client, url, **{"Accept-Encoding": accept})
            assert packed.status_code == 200, accept
            assert packed.headers["content-encoding"] == "gzip", accept
            assert packed.headers["vary"] == "Accept-Encoding"
            assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
            assert packed.headers["cache-control"] == IMMUTABLE
            assert packed.headers["content-type"] == plain.headers["content-type"]
            assert int(packed.headers["content-length"]) == len(raw) < len(body) * 0.9
            assert gzip.decompress(raw) == body
        for accept in REFUSES_GZIP:
            same, raw = await raw_get(client, url, **{"Accept-Encoding": accept})
            assert "content-encoding" not in same.headers, accept
            assert same.headers["vary"] == "Accept-Encoding"
            assert same.headers["etag"] == plain.headers["etag"]
            assert raw == body, accept


async def test_each_encoding_revalidates_with_its_own_etag(client: httpx.AsyncClient) -> None:
    """If-None-Match gets a 304 only with the ETag of the variant the request would get."""
    with trio.fail_after(30):
        url = f"/assets/{preact().relative_to(WEB).as_posix()}"
        identity = (await client.get(url, headers={"Accept-Encoding": "identity"})).headers["etag"]
        gzipped = (await client.get(url, headers={"Accept-Encoding": "gzip"})).headers["etag"]
        assert identity != gzipped
        for accept, held, status in (("gzip", gzipped, 304), ("identity", identity, 304),
                                     ("gzip", identity, 200), ("identity", gzipped, 200),
                                     ("gzip", f"{identity}, {gzipped}", 304)):
            answer = await client.get(url, headers={"Accept-Encoding": accept,
                                                    "If-None-Match": held})
            assert answer.status_code == status, (accept, held)
            assert answer.headers["vary"] == "Accept-Encoding"
            assert answer.headers["etag"] == (gzipped if accept == "gzip" else identity)
            if status == 304:
                assert answer.content == b"" and "content-encoding" not in answer.headers


async def test_small_files_are_served_as_they_are(client: httpx.AsyncClient) -> None:
    """A file under 1 KB has no gzip variant, so its answer never varies."""
    with trio.fail_after(30):
        icon = (WEB / "favicon.svg").read_bytes()
        assert len(icon) < 1024
        answer, raw = await raw_get(client, "/assets/favicon.svg", **{"Accept-Encoding": "gzip"})
        assert raw == icon
        assert "content-encoding" not in answer.headers and "vary" not in answer.headers


async def test_no_path_leaves_web(client: httpx.AsyncClient) -> None:
    """Traversal, encoded slashes, NUL and files that are not assets: a JSON 404."""
    with trio.fail_after(30):
        shell = await client.get("/")
        version = next(u for u in page_links(shell.text).urls if u.endswith("/app.js")).split("/")[2]
        for url in ("/assets/..%2Fserver%2Fapp.py", "/assets/%2e%2e/pyproject.toml",
                    f"/assets/{version}/..%2F..%2Fpyproject.toml", "/assets/%2e%2e%2f%2e%2e%2fetc/passwd",
                    "/assets/app.js%00", "/assets/%00", "/assets/%2Fetc%2Fpasswd",
                    "/assets/index.html", "/assets/README.md", "/assets/vendor/README",
                    "/assets/", "/assets//etc/passwd"):
            assert_json_404(await client.get(url))


async def test_server_paths_keep_their_own_answers(client: httpx.AsyncClient) -> None:
    """Unknown API paths, server words and paths no username can take are JSON 404s, never
    the shell; `/@evil` and non-ASCII names included."""
    with trio.fail_after(30):
        for url in ("/api", "/api/nope", "/api/followers", "/api/users/x/y/z", "/media/nope",
                    "/media", "/upload", "/ws", "/assets", "/docs/followers", "/healthz/following",
                    "/@evil", "/%40evil", "/%C3%A9mile", "/%E2%84%AA", "/%2E%2E", "/._", "/login/",
                    "/p/abc", "/p/0", "/p/%D9%A3", f"/p/{2**64}", "/p", "/someone/posts",
                    "/" + "a" * 31, "/someone/followers/x", "/%00", "/explore", "/explore/tags",
                    "/explore/tags/", "/explore/tags/a-b", "/explore/tags/%00", "/explore/tags/..",
                    "/explore/tags/%2E%2E", "/explore/tags/%23sun", "/explore/tags/" + "x" * 101,
                    "/explore/tags/sun/posts", "/Explore/tags/sun"):
            assert_json_404(await client.get(url))
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/openapi.json")).json()["info"]["title"] == "Pixtrio API"
        assert (await client.get("/metrics")).headers["content-type"].startswith("text/plain")


async def test_a_registered_name_is_a_page_and_reserved_names_cannot_register(
        client: httpx.AsyncClient) -> None:
    with trio.fail_after(30):
        _, user = await register(client)
        assert (await client.get(f"/{user['username']}")).headers["content-type"].startswith("text/html")
        for name in ("login", "Settings", "api", "p", "openapi.json", "assets"):
            answer = await client.post("/api/auth/register", json={
                "username": name, "email": f"{unique_name()}@example.com",
                "password": "correct horse"})
            assert answer.status_code == 422, (name, answer.text)
            error = answer.json()["error"]
            assert error["code"] == "invalid_field" and error["message"].startswith("username:")


def test_every_top_level_path_of_the_app_is_a_reserved_username() -> None:
    """`/<username>` is a profile, so no account may take the first segment of a route."""
    from pixtrio.edge.app import create_app
    from pixtrio.features.accounts.service import RESERVED_USERNAMES

    app = create_app(None)  # type: ignore[arg-type]  # only its URL map is read
    firsts = {rule.rule.split("/")[1] for rule in app.url_map.iter_rules()}
    firsts -= {"", "<username>"}
    assert firsts <= RESERVED_USERNAMES, sorted(firsts - RESERVED_USERNAMES)
