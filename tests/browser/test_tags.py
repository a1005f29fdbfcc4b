"""Hashtag pages in a real Chromium: /explore/tags/{tag} shows the tag's posts as a grid
of tiles linking to them, newest first and in any case, loaded a page at a time by
scrolling or by "Load more"; a post deleted leaves it live; an unused tag says so."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import unique_name
from tests.support.images import jpeg
from tests.support.web import Account, expect_online, ready, register, share, signed_in

pytestmark = pytest.mark.slow


def post_tagged(http: httpx.Client, who: Account, tag: str, count: int) -> list[str]:
    """`count` photos captioned with `#tag` (in capitals), once ready; ids newest first."""
    ids = [share(http, who, jpeg(320 + 40 * n, 320), caption=f"number {n} #{tag.upper()}",
                 alt_text=f"Photo {n}") for n in range(count)]
    ready(http, who, ids)
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
    author = register(http, "tag")
    tag = unique_name("sun")
    newest_first = post_tagged(http, author, tag, 3)
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
    log = signed_in(open_page, author)
    page = log.page
    page.add_init_script("delete window.IntersectionObserver")
    page.route("**/api/tags/*/posts*", one_per_page)
    page.goto(f"{base}/explore/tags/{tag.upper()}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"#{tag.upper()}")
    for shown in (1, 2, 3):
        expect(page.locator(".post-grid > li")).to_have_count(shown)
        if shown < 3:
            page.get_by_role("button", name="Load more").click()
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
    assert tile_links(page) == links
    expect_online(page)
    assert http.delete(f"/api/posts/{newest_first[1]}", headers=author.headers).status_code == 204
    expect(page.locator(".post-grid > li")).to_have_count(2)
    assert tile_links(page) == [links[0], links[2]]

    # a tag nobody used yet
    page.goto(f"{base}/explore/tags/{tag}_unused")
    expect(page.get_by_text(f"No posts with #{tag}_unused yet.")).to_be_visible()
    expect(page.locator(".post-grid")).to_have_count(0)
    screenshot(page, screenshot_dir, "tag-empty")
    assert log.foreign(base) == []
    assert log.errors == []
