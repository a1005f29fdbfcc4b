"""Profiles, follow lists and settings in a real Chromium: the header and the 3-column
grid of 320 px tiles (kept live), following with rollback, the lists, editing the
profile and its picture, user text shown as text, and unknown accounts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import FilePayload, FloatRect, Page, Route, expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import unique_name
from tests.support.images import PDF, jpeg, png, png_bomb
from tests.support.web import (
    Account,
    expect_online,
    follow,
    ready,
    register,
    settled,
    share,
    signed_in,
)

pytestmark = pytest.mark.slow


@dataclass
class Author:
    account: Account
    posts: list[dict[str, Any]]  # newest first, all ready
    failed_id: str


@pytest.fixture(scope="module")
def author(http: httpx.Client) -> Author:
    """An account with a name, a two-line bio, four photos (one with alt text) and a post
    whose processing failed (which only its author sees)."""
    account = register(http, "pro", display_name="Ada Lovelace",
                       bio="Analyst of engines.\nPoet of numbers.")
    failed_id = share(http, account, png_bomb(), "image/png")
    ids = [share(http, account, jpeg(480, 480), alt_text="A red kite" if n == 1 else "") for n in range(4)]
    posts = ready(http, account, ids)
    assert settled(http, account, [failed_id])[0]["status"] == "failed"
    return Author(account, posts[::-1], failed_id)


def tile_boxes(page: Page) -> list[FloatRect]:
    boxes = []
    for tile in page.locator(".post-grid > li").all():
        box = tile.bounding_box()
        assert box is not None
        boxes.append(box)
    return boxes


def expect_three_columns(page: Page) -> None:
    boxes = tile_boxes(page)
    assert len(boxes) >= 4
    xs = [round(b["x"]) for b in boxes]
    assert xs[0] < xs[1] < xs[2] and xs[3] == xs[0], xs
    assert boxes[3]["y"] > boxes[0]["y"]
    for box in boxes:
        assert abs(box["width"] - box["height"]) <= 1 and box["width"] > 80


def test_profile_header_and_grid(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        author: Author, screenshot_dir: Path) -> None:
    base, name = live_server.url, author.account.username
    log = open_page()
    page = log.page
    # A video's tile is its poster frame with a marker: the answer is edited to show one.
    posts_url = f"{base}/api/users/{name}/posts"

    def as_video(route: Route) -> None:
        answer = route.fetch().json()
        answer["posts"][2]["kind"] = "video"
        route.fulfill(json=answer)

    page.route(posts_url, as_video)
    page.goto(f"{base}/{name}")
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(page.get_by_role("heading", name="Ada Lovelace", level=1)).to_be_visible()
    expect(page.get_by_text(f"@{name}", exact=True)).to_be_visible()
    assert page.locator(".bio").inner_text() == "Analyst of engines.\nPoet of numbers."
    expect(page.locator(".counts")).to_contain_text("4 posts")
    expect(page.get_by_role("link", name="0 followers")).to_have_attribute("href", f"/{name}/followers")
    expect(page.get_by_role("link", name="0 following")).to_have_attribute("href", f"/{name}/following")
    expect(page.get_by_role("link", name="Sign in to follow")).to_be_visible()

    grid = page.get_by_role("list", name=f"Posts by @{name}")
    tiles = grid.get_by_role("link")
    expect(tiles).to_have_count(4)  # the failed post is its author's to see
    for tile, post in zip(tiles.all(), author.posts, strict=True):
        expect(tile).to_have_attribute("href", f"/p/{post['post_id']}")
        placeholder = tile.evaluate("a => a.style.backgroundImage")
        assert placeholder.startswith('url("data:image/'), placeholder
        image = tile.locator("img")
        expect(image).to_have_attribute("alt", post["alt_text"] or f"Photo by {name}")
        expect(image).to_have_attribute("loading", "lazy")
        image.evaluate("img => img.decode()")
        current = image.evaluate("img => img.currentSrc")
        assert current.replace(base, "") in post["variants"]["320"].values(), current
        assert "640w" in (tile.locator("source").first.get_attribute("srcset") or "")
    expect(tiles.nth(2).get_by_role("img", name="Video")).to_be_visible()
    expect(grid.get_by_role("img", name="Video")).to_have_count(1)
    expect_three_columns(page)
    page.set_viewport_size({"width": 375, "height": 812})
    expect_three_columns(page)
    screenshot(page, screenshot_dir, "profile-other")

    # The author sees their failed post as a labelled tile, and the grid follows live events.
    own = signed_in(open_page, author.account, f"{base}/{name}")
    own_grid = own.page.get_by_role("list", name=f"Posts by @{name}")
    expect(own.page.get_by_role("link", name="Edit profile")).to_have_attribute("href", "/settings")
    expect(own_grid.get_by_role("link", name="Failed post")).to_have_attribute("href", f"/p/{author.failed_id}")
    expect(own_grid.get_by_role("link")).to_have_count(5)
    screenshot(own.page, screenshot_dir, "profile-own")
    expect_online(own.page)
    gone = author.posts[0]["post_id"]
    assert http.delete(f"/api/posts/{gone}", headers=author.account.headers).status_code == 204
    expect(own_grid.locator(f'a[href="/p/{gone}"]')).to_have_count(0)
    expect(own.page.locator(".counts")).to_contain_text("3 posts")
    fresh = share(http, author.account, jpeg(500, 500), alt_text="Fresh off the press")
    expect(own_grid.get_by_role("link").first).to_have_attribute("href", f"/p/{fresh}")
    expect(own_grid.get_by_role("img", name="Fresh off the press")).to_be_visible()
    expect(own_grid.get_by_role("link")).to_have_count(5)
    for opened in (log, own):
        assert opened.foreign(base) == []
        assert opened.errors == []


def test_follow_and_unfollow_from_the_profile(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client) -> None:
    base = live_server.url
    viewer, target = register(http, "pro"), register(http, "pro", display_name="Grace")
    log = signed_in(open_page, viewer, f"{base}/{target.username}")
    page = log.page
    button = page.get_by_role("button", name=f"Follow @{target.username}", exact=True)
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_role("link", name="0 followers")).to_be_visible()

    button.click()
    following = page.get_by_role("button", name=f"Following @{target.username}")
    expect(following).to_have_attribute("aria-pressed", "true")
    expect(following).to_have_text("Following")
    expect(page.get_by_role("link", name="1 follower", exact=True)).to_be_visible()
    expect(following).to_have_attribute("aria-busy", "false")
    seen = http.get(f"/api/users/{target.username}", headers=viewer.headers).json()
    assert seen["followed_by_viewer"] is True and seen["followers_count"] == 1

    following.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_role("link", name="0 followers")).to_be_visible()
    expect(button).to_have_attribute("aria-busy", "false")
    seen = http.get(f"/api/users/{target.username}", headers=viewer.headers).json()
    assert seen["followed_by_viewer"] is False and seen["followers_count"] == 0

    follow_url = f"{base}/api/users/{target.username}/follow"
    page.route(follow_url, lambda route: route.fulfill(
        status=503, json={"error": {"code": "unavailable", "message": "try again shortly"}}))
    button.click()
    expect(page.get_by_role("alert")).to_have_text(
        f"Could not follow @{target.username}: try again shortly")
    expect(button).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_role("link", name="0 followers")).to_be_visible()
    assert http.get(f"/api/users/{target.username}", headers=viewer.headers).json()["followed_by_viewer"] is False
    assert log.foreign(base) == []
    assert log.errors_besides((503, follow_url)) == []


def test_follow_lists(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    target = register(http, "pro", display_name="Margaret Hamilton")
    viewer = register(http, "pro")
    fans = [register(http, "pro", display_name=f"Fan {n}") for n in range(2)]
    idol = register(http, "pro", display_name="Katherine Johnson")
    for fan in [*fans, viewer]:
        follow(http, fan, target)
    follow(http, target, idol)

    log = signed_in(open_page, viewer, f"{base}/{target.username}")
    page = log.page
    # Pages of one person each, so the list is fetched in three pages by its cursors.
    followers_url = f"{base}/api/users/{target.username}/followers"
    asked: list[str] = []

    def one_per_page(route: Route) -> None:
        asked.append(route.request.url)
        joiner = "&" if "?" in route.request.url else "?"
        route.continue_(url=f"{route.request.url}{joiner}limit=1")

    followers_urls = re.compile(re.escape(followers_url) + r"(\?.*)?$")
    page.route(followers_urls, one_per_page)
    page.get_by_role("link", name="3 followers").click()
    expect(page).to_have_url(f"{base}/{target.username}/followers")
    expect(page.get_by_role("heading", name=f"People following @{target.username}")).to_be_visible()
    people = page.get_by_role("list").filter(has=page.locator(".person"))
    expect(people.get_by_role("listitem")).to_have_count(3)  # newest first: the viewer, then the fans
    expect(page.locator(".more")).to_have_count(0)  # the last page was reached: no "Load more"
    assert asked[0] == followers_url and all("?cursor=" in url for url in asked[1:]) and len(asked) >= 3
    page.unroute(followers_urls)
    expect(people.get_by_role("link", name=f"Fan 1 @{fans[1].username}")).to_have_attribute(
        "href", f"/{fans[1].username}")
    expect(people.get_by_role("button")).to_have_count(2)  # none beside the viewer themself
    fan_button = people.get_by_role("button", name=f"Follow @{fans[0].username}", exact=True)
    fan_button.click()
    expect(people.get_by_role("button", name=f"Following @{fans[0].username}")).to_have_attribute(
        "aria-pressed", "true")
    expect(people.get_by_role("button", name=f"Following @{fans[0].username}")).to_have_attribute(
        "aria-busy", "false")
    assert http.get(f"/api/users/{fans[0].username}", headers=viewer.headers).json()["followed_by_viewer"] is True
    screenshot(page, screenshot_dir, "followers")

    page.reload()  # the deep link, and the state the server now has
    expect(page.get_by_role("button", name=f"Following @{fans[0].username}")).to_have_attribute(
        "aria-pressed", "true")
    expect(page.get_by_role("button", name=f"Follow @{fans[1].username}", exact=True)).to_be_visible()

    page.goto(f"{base}/{target.username}/following")
    expect(page.get_by_role("heading", name=f"People @{target.username} follows")).to_be_visible()
    expect(page.get_by_role("link", name=f"Katherine Johnson @{idol.username}")).to_be_visible()
    page.get_by_role("button", name=f"Follow @{idol.username}", exact=True).click()
    expect(page.get_by_role("button", name=f"Following @{idol.username}")).to_have_attribute("aria-busy", "false")
    assert http.get(f"/api/users/{idol.username}", headers=viewer.headers).json()["followed_by_viewer"] is True
    page.get_by_role("link", name=f"Back to @{target.username}").click()
    expect(page.get_by_role("heading", name="Margaret Hamilton")).to_be_visible()

    page.goto(f"{base}/{idol.username}/following")
    expect(page.get_by_text("Not following anyone yet.")).to_be_visible()
    assert log.foreign(base) == []
    assert log.errors == []


def test_settings_edit_profile_and_picture(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    account = register(http, "pro")
    log = signed_in(open_page, account, base + "/settings")
    page = log.page
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    page.get_by_label("Display name").fill("Grace Hopper")
    page.get_by_label("Bio").fill("Rear admiral.\nCOBOL.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    account_nav = page.get_by_role("navigation", name="Account")
    expect(account_nav.get_by_role("link", name="Grace Hopper")).to_be_visible()  # the header follows
    me = http.get("/api/me", headers=account.headers).json()
    assert me["display_name"] == "Grace Hopper" and me["bio"] == "Rear admiral.\nCOBOL."

    picture = page.get_by_label("Choose a new profile picture")
    picture.set_input_files(files=FilePayload(name="notes.jpg", mimeType="image/jpeg", buffer=PDF))
    page.get_by_role("button", name="Upload picture").click()
    expect(page.locator("#picture-error")).to_contain_text("not a picture Pixtrio can use")
    expect(picture).to_have_attribute("aria-invalid", "true")

    picture.set_input_files(files=FilePayload(name="me.png", mimeType="image/png", buffer=png(400, 300)))
    expect(page.get_by_role("img", name="Preview of your new profile picture")).to_be_visible()
    expect(page.locator("#picture-error")).to_be_empty()
    screenshot(page, screenshot_dir, "settings")
    page.get_by_role("button", name="Upload picture").click()
    expect(page.get_by_role("status").filter(has_text="Profile picture updated")).to_be_visible()
    pic = http.get("/api/me", headers=account.headers).json()["profile_pic"]
    assert pic and pic.startswith("/media/")
    expect(page.locator(".picture-row img.avatar")).to_have_attribute("src", pic)

    page.get_by_role("link", name="View your profile").click()
    expect(page.get_by_role("heading", name="Grace Hopper", level=1)).to_be_visible()
    assert page.locator(".bio").inner_text() == "Rear admiral.\nCOBOL."
    avatar = page.locator(".profile-head img.avatar")
    expect(avatar).to_have_attribute("src", pic)
    assert avatar.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    assert log.foreign(base) == []
    assert log.errors_besides((415, base + "/api/me/avatar")) == []


def test_user_text_is_text_and_unknown_accounts(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client) -> None:
    base = live_server.url
    hostile = "<img src=x onerror=window.__pwned=1>"
    account = register(http, "pro", display_name=hostile,
                       bio=f"{hostile}\n<script>window.__pwned=2</script>")
    other = register(http, "pro")
    follow(http, account, other)
    log = open_page()
    page = log.page
    page.goto(f"{base}/{account.username}")
    expect(page.get_by_role("heading", name=hostile, level=1)).to_be_visible()
    expect(page.locator(".bio")).to_have_text(f"{hostile}\n<script>window.__pwned=2</script>")
    expect(page.get_by_text("No posts yet.")).to_be_visible()
    page.get_by_role("link", name="0 followers").click()  # the counts are the lists' links
    expect(page.get_by_text("No followers yet.")).to_be_visible()
    page.goto(f"{base}/{other.username}/followers")
    expect(page.get_by_role("link", name=f"{hostile} @{account.username}")).to_be_visible()
    assert page.locator("img[src=x], #app script").count() == 0
    assert page.evaluate("window.__pwned") is None

    missing = unique_name("nobody")
    page.goto(f"{base}/{missing}")
    expect(page.get_by_role("heading", name="This account doesn't exist")).to_be_visible()
    page.goto(f"{base}/{missing}/following")
    expect(page.get_by_role("heading", name="This account doesn't exist")).to_be_visible()
    assert page.evaluate("window.__pwned") is None
    assert log.foreign(base) == []
    assert log.errors_besides(
        (404, f"{base}/api/users/{missing}"), (404, f"{base}/api/users/{missing}/posts"),
        (404, f"{base}/api/users/{missing}/following")) == []
