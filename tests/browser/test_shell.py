"""The pages a person opens first, loaded in a real Chromium: the app at `/` and the API
docs at `/docs`, each served wholly from this server with no errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess

pytestmark = pytest.mark.slow
PNG = b"\x89PNG\r\n\x1a\n"


def test_front_page_loads_from_this_server_only(
        live_server: ServerProcess, open_page: Callable[[], PageLog], screenshot_dir: Path) -> None:
    log = open_page()
    response = log.page.goto(live_server.url + "/")
    assert response is not None and response.ok
    log.page.wait_for_load_state("networkidle")

    assert "Pixtrio" in log.page.title()
    shots = screenshot(log.page, screenshot_dir, "front")
    assert [p.name for p in shots] == ["front-375.png", "front-1280.png"]
    assert all(p.read_bytes().startswith(PNG) for p in shots)
    assert log.urls[0] == live_server.url + "/"
    assert log.foreign(live_server.url) == []
    assert log.errors == []


def test_docs_render_swagger_ui_offline(
        live_server: ServerProcess, open_page: Callable[[], PageLog], screenshot_dir: Path) -> None:
    log = open_page()
    response = log.page.goto(live_server.url + "/docs")
    assert response is not None and response.ok
    assert log.foreign(live_server.url) == []  # a CDN script tag shows here, before any wait

    expect(log.page.locator(".swagger-ui .info .title")).to_contain_text("Pixtrio API")
    log.page.wait_for_load_state("networkidle")
    screenshot(log.page, screenshot_dir, "docs")
    assert live_server.url + "/openapi.json" in log.urls
    assert log.foreign(live_server.url) == []
    assert log.errors == []
