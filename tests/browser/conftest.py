"""Fixtures for the browser tests: one system Chromium per module, pages that record what
they load, an API client to seed them, and the folder screenshots go to (named at the end
of the run).

Browser tests are plain functions, not async ones: Playwright's async API needs asyncio,
and its sync API must not run inside trio's loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect, sync_playwright

from pixtrio.testing.browser import PageLog, launch, run_folder
from pixtrio.testing.server_process import ServerProcess

# The suite runs on two workers of a 2-core machine: a page may wait its turn for the CPU,
# so `expect` waits up to 15 s (Playwright's default is 5) before calling a check failed.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium shared by one module's tests; closed after them."""
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def http(live_server: ServerProcess) -> Iterator[httpx.Client]:
    """A sync API client for the live server, for seeding what the pages show (see
    tests/support/web.py); one per module, so module-wide fixtures can seed too."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[], PageLog]]:
    """Opens a page in a fresh context (no shared cookies or storage); all closed afterwards."""
    contexts: list[BrowserContext] = []

    def open_() -> PageLog:
        context = browser.new_context()
        contexts.append(context)
        return PageLog(context.new_page())

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's screenshot folder, named at the end of the run (tests/conftest.py)."""
    return run_folder(tmp_path_factory.getbasetemp()) / "screenshots"
