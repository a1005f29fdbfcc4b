"""`/docs` works with nothing from another origin under a strict Content-Security-Policy,
and `/openapi.json` documents every operation, the raw-body routes included."""

from __future__ import annotations

import gzip
from urllib.parse import urljoin, urlsplit

import httpx

from tests.support.api import assert_error, bearer, register
from tests.support.pages import csp, page_links

TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


async def test_docs_page_loads_only_its_own_files_under_a_strict_policy(
        client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = page_links(page.text)
    assert references.inline == []
    assert any(u.endswith(".js") for u in references.urls)
    assert any(u.endswith(".css") for u in references.urls)
    own = urlsplit(str(client.base_url))
    for url in references.urls:
        absolute = urlsplit(urljoin(str(page.url), url))
        assert (absolute.scheme, absolute.netloc) == (own.scheme, own.netloc), url
        asset = await client.get(url)
        assert asset.status_code == 200, url
        suffix = url[url.rfind("."):]
        assert asset.headers["content-type"].startswith(TYPES[suffix]), url
        assert asset.content

    policy = csp(page)
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline script, no eval, no other origin
    assert "'unsafe-eval'" not in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert set(policy["img-src"].split()) == {"'self'", "data:"}
    assert policy["connect-src"] == "'self'"
    assert policy["object-src"] == "'none'"


async def test_the_docs_start_script_reads_this_servers_openapi(client: httpx.AsyncClient) -> None:
    references = page_links((await client.get("/docs")).text)
    (start,) = [u for u in references.urls if u.endswith("/swagger-init.js")]
    script = (await client.get(start)).text
    assert 'url: "/openapi.json"' in script
    assert "validatorUrl: null" in script  # the default validator badge is another origin's
    assert (await client.get("/openapi.json")).json()["paths"]


async def test_docs_assets_are_named_by_content_and_cached_for_good(
        client: httpx.AsyncClient) -> None:
    references = page_links((await client.get("/docs")).text)
    url = next(u for u in references.urls if u.endswith("/swagger-ui-bundle.js"))
    first = await client.get(url)
    assert "immutable" in first.headers["cache-control"]
    assert "max-age=31536000" in first.headers["cache-control"]
    etag = first.headers["etag"]
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag

    stale = url.replace(url.split("/")[-2], "0" * 16)
    assert_error(await client.get(stale), 404, "not_found")
    assert_error(await client.get("/docs/assets/0/swagger-editor-bundle.js"), 404, "not_found")
    assert_error(await client.get("/docs/assets/x/../../openapi.json"), 404)


async def test_docs_text_assets_are_gzipped_when_accepted(client: httpx.AsyncClient) -> None:
    """Swagger UI's script and stylesheet come gzipped to a client that takes gzip (with
    their own ETag, still immutable) and as they are to one that does not; its PNG icon
    is never encoded."""
    references = page_links((await client.get("/docs")).text)
    for name in ("/swagger-ui-bundle.js", "/swagger-ui.css"):
        url = next(u for u in references.urls if u.endswith(name))
        async with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as packed:
            raw = b"".join([part async for part in packed.aiter_raw()])
        plain = await client.get(url, headers={"Accept-Encoding": "identity"})
        assert packed.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert packed.headers["vary"] == plain.headers["vary"] == "Accept-Encoding"
        assert packed.headers["etag"] == plain.headers["etag"][:-1] + '-gz"'
        assert packed.headers["cache-control"] == plain.headers["cache-control"]
        assert "immutable" in packed.headers["cache-control"]
        assert int(packed.headers["content-length"]) == len(raw) < len(plain.content) // 2
        assert gzip.decompress(raw) == plain.content
        cached = await client.get(url, headers={"Accept-Encoding": "gzip",
                                                "If-None-Match": packed.headers["etag"]})
        assert cached.status_code == 304 and cached.headers["etag"] == packed.headers["etag"]
    icon = next(u for u in references.urls if u.endswith(".png"))
    image = await client.get(icon, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in image.headers and "vary" not in image.headers


async def test_openapi_has_a_summary_on_every_operation(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    operations = [(method, path, op) for path, item in spec["paths"].items()
                  for method, op in item.items()]
    assert len(operations) > 20
    for method, path, op in operations:
        summary = op.get("summary", "")
        assert summary and "\n" not in summary and len(summary) <= 100, (method, path, summary)


async def test_every_write_is_rate_limited(client: httpx.AsyncClient) -> None:
    """Each write operation documents its 429 (`edge.ratelimits.rate_limited`), but the
    upload URL's PUT, which its grant (counted at `upload-url`) authorises."""
    spec = (await client.get("/openapi.json")).json()
    writes = [(method, path, op) for path, item in spec["paths"].items()
              for method, op in item.items() if method in ("post", "put", "patch", "delete")]
    assert len(writes) > 10
    for method, path, op in writes:
        assert ("429" in op["responses"]) == (path != "/upload/{token}"), (method, path)


async def test_openapi_documents_the_raw_body_media_and_metrics_routes(
        client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]

    upload = paths["/upload/{token}"]["put"]
    assert "image/jpeg" in upload["requestBody"]["content"]
    assert "video/mp4" in upload["requestBody"]["content"]
    assert set(upload["responses"]) == {"201", "400", "401", "403", "409", "413", "415", "503"}
    assert set(upload["responses"]["201"]["content"]["application/json"]["schema"]["properties"]) \
        == {"post_id", "received_bytes", "sha256"}

    avatar = paths["/api/me/avatar"]["put"]
    assert "image/png" in avatar["requestBody"]["content"]
    assert set(avatar["responses"]) == {"200", "401", "413", "415", "422", "429", "503"}
    assert avatar["security"] == [{"bearer": []}]

    media = paths["/media/{key}"]["get"]
    assert {"200", "206", "304", "404", "416"} <= set(media["responses"])
    assert "image/avif" in media["responses"]["200"]["content"]
    assert {p["name"] for p in media["parameters"]} >= {"key", "Range", "If-None-Match"}

    metrics = paths["/metrics"]["get"]
    assert "text/plain" in metrics["responses"]["200"]["content"]


async def test_the_documented_raw_body_answers_are_the_real_ones(client: httpx.AsyncClient) -> None:
    """The statuses the spec lists for the raw-body routes are the ones they give, each
    with API.md's error body."""
    spec = (await client.get("/openapi.json")).json()
    avatar = spec["paths"]["/api/me/avatar"]["put"]["responses"]
    upload = spec["paths"]["/upload/{token}"]["put"]["responses"]
    token, _ = await register(client)

    unsigned = await client.put("/api/me/avatar", content=b"x")
    not_an_image = await client.put("/api/me/avatar", content=b"plain text",
                                    headers={**bearer(token), "Content-Type": "image/png"})
    forged = await client.put("/upload/abc.def", content=b"x",
                              headers={"Content-Type": "image/jpeg"})
    for answer, status, documented in ((unsigned, 401, avatar), (not_an_image, 415, avatar),
                                       (forged, 403, upload)):
        assert_error(answer, status)
        assert str(status) in documented
