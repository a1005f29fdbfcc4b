"""Weight: the bytes a browser transfers for the first load of `/` (and `/docs`, for information).

    .venv/bin/python -m bench.web_weight

Starts a server, loads each page in Debian's Chromium through Playwright (a fresh
context, so an empty cache) until the network is idle, and records every response: its
body as transferred (the encoded bytes: its Content-Length, else what Chromium counted,
`request.sizes()["responseBodySize"]`, which reads one byte over Content-Length here) and
as decoded. Sums JavaScript and CSS (by Content-Type) against issue 15's goal for `/`:
**<= 100 KB compressed**. Prints and writes `bench/results/web_weight.json`. Asserts nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Response, sync_playwright

from bench.harness import emit, machine_info, server
from pixtrio.testing.browser import launch

GOAL_BYTES = 100 * 1024
PAGES = ("/", "/docs")
KINDS = {"text/javascript": "js", "application/javascript": "js", "text/css": "css",
         "text/html": "html"}


def describe(response: Response) -> dict[str, Any]:
    """One response: path, kind, encoding, encoded and decoded body bytes."""
    content_type = (response.header_value("content-type") or "").split(";")[0].strip()
    length = response.header_value("content-length")
    return {
        "path": urlsplit(response.url).path,
        "status": response.status,
        "kind": KINDS.get(content_type, content_type or "other"),
        "content_encoding": response.header_value("content-encoding") or "identity",
        "transferred_bytes": int(length) if length else response.request.sizes()["responseBodySize"],
        "raw_bytes": len(response.body()) if response.status == 200 else 0,
    }


def weigh(base: str, path: str) -> dict[str, Any]:
    """Every response of a first load of `path`, with the JS + CSS and HTML totals."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = browser.new_context()
            page = context.new_page()
            responses: list[Response] = []
            page.on("response", lambda response: responses.append(response))
            page.goto(base + path, wait_until="networkidle")
            files = [describe(r) for r in responses]
            context.close()
        finally:
            browser.close()
    code = [f for f in files if f["kind"] in ("js", "css")]
    html = [f for f in files if f["kind"] == "html"]
    return {
        "js_css_transferred_bytes": sum(f["transferred_bytes"] for f in code),
        "js_css_raw_bytes": sum(f["raw_bytes"] for f in code),
        "html_transferred_bytes": sum(f["transferred_bytes"] for f in html),
        "html_raw_bytes": sum(f["raw_bytes"] for f in html),
        "requests": len(files),
        "files": files,
    }


def main() -> None:
    with server() as proc:
        pages = {path: weigh(proc.url, path) for path in PAGES}
    front = pages["/"]
    emit("web_weight", {
        "benchmark": "web_weight",
        "goal": {"page": "/", "js_css_transferred_bytes_at_most": GOAL_BYTES,
                 "met": front["js_css_transferred_bytes"] <= GOAL_BYTES},
        "pages": pages,
        "machine": machine_info(),
    })


if __name__ == "__main__":
    main()
