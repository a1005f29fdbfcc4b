"""Driving the system's Chromium through Playwright's sync API, for tests and benchmarks.

Playwright never downloads a browser here: it launches Debian's `chromium` (which
`make test` installs) with flags that work as root on a machine with no outside network.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Request, WebSocket

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

CHROMIUM_PACKAGE = "chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # the suite runs as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no calls home: only the page's own requests
    "--disable-component-update",
    "--disable-sync",
]
# Phone and desktop viewports for screenshots: (width, height) in CSS pixels.
WIDTHS = {375: (375, 812), 1280: (1280, 800)}
# URL schemes that load nothing from anywhere: inline data and the page's own blobs.
LOCAL_SCHEMES = {"data", "blob", "about"}
_WEB_SCHEMES = {"ws": "http", "wss": "https"}


def chromium_path() -> str:
    """The system Chromium's executable. Raises RuntimeError naming the package when missing."""
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError(f"Chromium is not installed: install the Debian/Ubuntu package "
                           f"{CHROMIUM_PACKAGE!r} (`make test` does so as root)")
    return found


def launch(playwright: Playwright) -> Browser:
    """A headless system Chromium; Playwright gives each launch a fresh user-data-dir."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True,
                                      args=CHROMIUM_ARGS)


def origin(url: str) -> str:
    """`scheme://host:port` of `url`, websocket schemes counted as their HTTP origin."""
    parts = urlsplit(url)
    scheme = _WEB_SCHEMES.get(parts.scheme, parts.scheme)
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{parts.hostname}:{port}"


@dataclass
class PageLog:
    """What one page did: every request and websocket URL, and every console or page error."""

    page: Page
    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("request", self._on_request)
        self.page.on("websocket", self._on_websocket)
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _on_request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _on_websocket(self, socket: WebSocket) -> None:
        self.urls.append(socket.url)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def wait_for_failed_loads(self, *failed_loads: tuple[int, str], within: float = 10.0) -> None:
        """Returns once Chromium has logged each `(status, url)` failed load (their console
        messages can trail the page's visible reaction to them), or after `within` s."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and any(
                not any(self._failed_load(error, status, url) for error in self.errors)
                for status, url in failed_loads):
            self.page.wait_for_timeout(50)

    @staticmethod
    def _failed_load(error: str, status: int, url: str) -> bool:
        return (error.startswith("console: Failed to load") and f" status of {status} (" in error
                and error.endswith(f"({url})"))

    def errors_besides(self, *failed_loads: tuple[int, str]) -> list[str]:
        """The errors left once one "failed to load" console error is struck off for each
        `(status, url)` a test provoked on purpose (Chromium logs every 4xx fetch)."""
        left = list(self.errors)
        for status, url in failed_loads:
            match = next((error for error in left if self._failed_load(error, status, url)), None)
            if match is None:
                return [*left, f"expected a failed load ({status}) of {url}"]
            left.remove(match)
        return left

    def foreign(self, own: str) -> list[str]:
        """The recorded URLs that leave `own`'s origin (inline data and blobs do not)."""
        return [url for url in self.urls
                if urlsplit(url).scheme not in LOCAL_SCHEMES and origin(url) != origin(own)]


SCREENSHOT_TIMEOUT_MS = 90_000


def screenshot(page: Page, folder: Path, name: str) -> list[Path]:
    """Full-page PNGs of `page` at each width in WIDTHS, as `folder/name-<width>.png`.

    Leaves the page at the last width. Returns the files written. A tall page (Swagger
    UI's is thousands of pixels at 375 px) may take Chromium tens of seconds to capture on
    a loaded 2-core machine, so each capture gets `SCREENSHOT_TIMEOUT_MS`.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for width, (w, h) in WIDTHS.items():
        page.set_viewport_size({"width": w, "height": h})
        path = folder / f"{name}-{width}.png"
        page.screenshot(path=path, full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
        written.append(path)
    return written


def run_folder(base: Path) -> Path:
    """The whole run's temporary folder: pytest's base, or with xdist its parent (each
    worker's base is `<run>/popen-gw<N>`), so every worker's screenshots land together."""
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
