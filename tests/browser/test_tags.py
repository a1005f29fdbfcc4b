"""Hashtag pages in a real Chromium: /explore/tags/{tag} shows the tag's posts as a grid
of tiles linking to them, newest first and in any case, loaded a page at a time by
scrolling or by "Load more"; a post deleted leaves it live; an unused tag says so."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from tests.support.api import bearer, unique_name
from tests.support.browser import PageLog, screenshot
from tests.support.images import jpeg
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow
TOKEN_KEY = "pixtrio.token"


@pytest.fixture(scope="module")
def http(live_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def post_tagged(http: httpx.Client, token: str, tag: str, count: int) -> list[str]:
    """`count` photos captioned with `#tag` (in capitals), once ready; ids newest first."""
    ids = []
    for n in range(count):
        data = jpeg(320 + 40 * n, 320)
        grant = http.post("/api/posts/upload-url", headers=bearer(token),
                          json={"content_type": "image/jpeg", "size": len(data)})
        assert grant.status_code == 201, grant.text
        put = http.put(grant.json()["upload_url"], content=data,
                       headers={"Content-Type": "image/jpeg"})
        assert put.status_code == 201, put.text
        post_id = grant.json()["post_id"]
        answer = http.post(f"/api/posts/{post_id}/publish", headers=bearer(token),
                           json={"caption": f"number {n} #{tag.upper()}", "alt_text": f"Photo {n}"})
        assert answer.status_code == 202, answer.text
        ids.append(post_id)
    deadline = time.monotonic() + 60
    for post_id in ids:
        while http.get(f"/api/posts/{post_id}").status_code != 200:  # 404 until ready
            assert time.monotonic() < deadline, f"post {post_id} still processing"
            time.sleep(0.1)
    return ids[::-1]


def one_per_page(route: Route) -> None:
    """Asks the tag's list for one post per page, so three posts take three pages."""
    route.continue_(url=route.request.url + ("&" if "?" in route.request.url else "?") + "limit=1")


def tile_links(page: Page) -> list[str | None]:
    return [link.get_attribute("href") for link in page.locator(".post-grid a").all()]


def test_a_tag_page_pages_its_posts_into_a_grid_of_links(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    username = unique_name("tag")
    registered = http.post("/api/auth/register", json={
        "username": username, "email": f"{username}@example.com", "password": "correct horse"})
    assert registered.status_code == 201, registered.text
    token = registered.json()["token"]
    tag = unique_name("sun")
    newest_first = post_tagged(http, token, tag, 3)
    links = [f"/p/{post_id}" for post_id in newest_first]

    # signed out, scrolling: each page comes as the end of the list nears
    log = open_page()
    page = log.page
    page.route("**/api/tags/*/posts*", one_per_page)
    page.goto(f"{base}/explore/tags/{tag}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{tag}")
    grid = page.get_by_role("list", name=f"Posts with #{tag}")
    expect(grid.get_by_role("listitem")).to_have_count(3)
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)  # the end
    assert tile_links(page) == links
    expect(grid.get_by_role("img", name="Photo 2")).to_be_visible()
    screenshot(page, screenshot_dir, "tag")

    # a tile opens its post in place
    grid.get_by_role("link").first.click()
    expect(page).to_have_url(base + links[0])
    assert log.foreign(base) == []
    assert log.errors == []

    # signed in as the author, without IntersectionObserver: by the button, the tag written
    # in capitals; then a post deleted leaves the grid live
    log = open_page()
    page = log.page
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(str(frame))))
    page.add_init_script("delete window.IntersectionObserver")
    page.route("**/api/tags/*/posts*", one_per_page)
    page.goto(base + "/login")
    page.evaluate("([key, token]) => localStorage.setItem(key, token)", [TOKEN_KEY, token])
    page.goto(f"{base}/explore/tags/{tag.upper()}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{tag.upper()}")
    for shown in (1, 2, 3):
        expect(page.locator(".post-grid > li")).to_have_count(shown)
        if shown < 3:
            page.get_by_role("button", name="Load more").click()
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    assert tile_links(page) == links
    deadline = time.monotonic() + 10
    while not any('"t":"hello"' in frame.replace(" ", "") for frame in frames):
        assert time.monotonic() < deadline, "no live connection"
        page.wait_for_timeout(50)
    assert http.delete(f"/api/posts/{newest_first[1]}", headers=bearer(token)).status_code == 204
    expect(page.locator(".post-grid > li")).to_have_count(2)
    assert tile_links(page) == [links[0], links[2]]

    # a tag nobody used yet
    page.goto(f"{base}/explore/tags/{tag}_unused")
    expect(page.get_by_text(f"No posts with #{tag}_unused yet.")).to_be_visible()
    expect(page.locator(".post-grid")).to_have_count(0)
    screenshot(page, screenshot_dir, "tag-empty")
    assert log.foreign(base) == []
    assert log.errors == []
