"""Reading HTML pages and their Content-Security-Policy in tests."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx


class PageParser(HTMLParser):
    """The URLs a page loads (`src`, `href`), and anything that would run or style inline
    (inline scripts and styles, `on*` and `style` attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag = tag
        named = dict(attrs)
        self.urls += [value for key, value in attrs if key in ("src", "href") and value]
        self.inline += [f"{tag} {key}" for key, _ in attrs if key.startswith("on") or key == "style"]
        if tag == "style" or (tag == "script" and not named.get("src")):
            self.inline.append(tag)

    def handle_data(self, data: str) -> None:
        if self._tag == "script" and data.strip():
            self.inline.append(f"script text {data[:40]!r}")


def page_links(text: str) -> PageParser:
    """`text` parsed: its `urls` and what it has `inline`."""
    parser = PageParser()
    parser.feed(text)
    return parser


def csp(response: httpx.Response) -> dict[str, str]:
    """The answer's Content-Security-Policy, by directive: {"script-src": "'self'", ...}."""
    policy = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.partition(" ")[2] for d in (p.strip() for p in policy.split(";"))}
