"""The home feed, post cards and post pages in a real Chromium: responsive photos that keep
their shape while loading, paging by scrolling, live arrivals and deletions, optimistic
likes rolled back on error, comments, the post page (also signed out), and video playback."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess
from tests.support.images import jpeg
from tests.support.videos import clip
from tests.support.web import (
    SMALL,
    Account,
    expect_online,
    expect_playing,
    follow,
    post_photo,
    publish,
    ready,
    register,
    signed_in,
    upload,
)

pytestmark = pytest.mark.slow
PAGE_SIZE = 10  # web/screens/feed.js
COMMENT_PAGE = 20  # web/comments.js
HOSTILE = "<img src=x onerror=window.__pwned=1>"


@dataclass
class World:
    """What the module's tests share: a photographer with a page and a bit of posts (the
    newest a 1200×900 photo with alt text, the next one with a hostile caption and more
    comments than a page holds), and a video."""

    photographer: Account
    photos: list[dict[str, Any]]  # newest first, as the feed shows them
    video: dict[str, Any]


@pytest.fixture(scope="module")
def world(http: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> World:
    photographer, filmmaker = register(http, "photog"), register(http, "film")
    # Upload order is id order, which is feed order: the big photo last, so it comes first.
    ids = [upload(http, photographer, SMALL) for _ in range(PAGE_SIZE - 1)]
    hostile_id = upload(http, photographer, SMALL)
    big_id = upload(http, photographer, jpeg(1200, 900))
    video_id = upload(http, filmmaker, clip(tmp_path_factory.mktemp("clip") / "clip.mp4").read_bytes(),
                      "video/mp4")
    for n, post_id in enumerate(ids):
        publish(http, photographer, post_id, caption=f"photo {n}")
    publish(http, photographer, hostile_id, caption=f"caption {HOSTILE} #tagged")
    publish(http, photographer, big_id, caption="the big one", alt_text="A test pattern fading to pink")
    publish(http, filmmaker, video_id, caption="a clip")
    for n in range(COMMENT_PAGE + 1):
        text = f"comment {n}" if n != 1 else f"comment {HOSTILE}"
        answer = http.post(f"/api/posts/{hostile_id}/comments", headers=photographer.headers,
                           json={"text": text})
        assert answer.status_code == 201, answer.text
    photos = ready(http, photographer, [big_id, hostile_id, *reversed(ids)])
    [video] = ready(http, filmmaker, [video_id])
    return World(photographer, photos, video)


def card(page: Page, username: str) -> Locator:
    return page.get_by_role("article", name=f"Post by {username}")


def likes(count: int) -> str:
    return "1 like" if count == 1 else f"{count} likes"


def held_request(page: Page, held: list[Route]) -> Route:
    """The one request `held` caught, once Playwright has handed it over (at most 10 s)."""
    deadline = time.monotonic() + 10
    while not held:
        assert time.monotonic() < deadline, "timed out waiting for the request"
        page.wait_for_timeout(10)
    [route] = held
    return route


def test_feed_shows_responsive_photos_and_pages_on_scroll(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        world: World) -> None:
    viewer = register(http, "feed")
    follow(http, viewer, world.photographer)
    log = signed_in(open_page, viewer)
    page, base = log.page, live_server.url
    held: list[Route] = []
    page.route("**/media/**", lambda route: held.append(route))  # no image loads yet: the placeholders show

    page.goto(base + "/")
    articles = page.get_by_role("article")
    expect(articles).to_have_count(PAGE_SIZE)
    big = world.photos[0]
    first = articles.first.locator("picture img")
    expect(first).to_have_attribute("alt", "A test pattern fading to pink")
    expect(first).to_have_attribute("width", str(big["width"]))
    expect(first).to_have_attribute("height", str(big["height"]))
    expect(first).to_have_attribute("loading", "eager")
    expect(first).to_have_attribute("fetchpriority", "high")
    second = articles.nth(1).locator("picture img")
    expect(second).to_have_attribute("alt", f"Photo by {world.photographer.username}")
    expect(second).to_have_attribute("loading", "lazy")
    sources = articles.first.locator("picture source")
    expect(sources).to_have_count(3)
    for n, (fmt, mime) in enumerate([("avif", "image/avif"), ("webp", "image/webp"), ("jpeg", "image/jpeg")]):
        source = sources.nth(n)
        expect(source).to_have_attribute("type", mime)
        expect(source).to_have_attribute("sizes", "(max-width: 40rem) 100vw, 38rem")
        expect(source).to_have_attribute("srcset", ", ".join(
            f"{big['variants'][size][fmt]} {size}w" for size in ("320", "640", "1080")))
    placeholder = first.evaluate("img => [img.complete, img.style.backgroundImage, img.clientWidth / img.clientHeight]")
    assert placeholder[0] is False
    assert placeholder[1] == f'url("{big["placeholder"]}")'
    assert placeholder[2] == pytest.approx(big["width"] / big["height"], rel=0.02)  # its box before it loads

    for route in held:
        route.continue_()
    page.unroute("**/media/**")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=first.element_handle())
    variants = {base + url for formats in big["variants"].values() for url in formats.values()}
    assert first.evaluate("img => img.currentSrc") in variants
    assert first.evaluate("img => img.style.backgroundImage") == ""  # loaded: no placeholder left

    expect(page.get_by_role("button", name="Load more posts")).to_be_visible()
    page.mouse.wheel(0, 100_000)  # the end of the list comes near: the next page loads
    expect(articles).to_have_count(PAGE_SIZE + 1)
    expect(page.get_by_text("You're all caught up.")).to_be_visible()
    expect(page.get_by_role("button", name="Load more posts")).to_have_count(0)
    ids = [a.get_attribute("id") for a in articles.all()]
    assert ids == [f"post-{p['post_id']}" for p in world.photos]
    assert log.foreign(base) == []
    assert log.errors == []


def test_live_posts_arrive_behind_a_button_and_leave_in_place(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    viewer, friend = register(http, "feed"), register(http, "friend")
    follow(http, viewer, friend)
    log = signed_in(open_page, viewer)
    page, base = log.page, live_server.url
    page.goto(base + "/")
    expect(page.get_by_text("Your feed is empty.")).to_be_visible()
    expect(page.get_by_role("link", name="Share a photo")).to_have_attribute("href", "/new")
    expect_online(page)

    theirs = post_photo(http, friend, caption="fresh from the oven")
    pill = page.get_by_role("button", name="1 new post")
    expect(pill).to_be_visible()
    expect(page.get_by_role("article")).to_have_count(0)  # not until the reader asks
    pill.click()
    expect(pill).to_have_count(0)
    arrived = card(page, friend.username)
    expect(arrived).to_be_visible()
    expect(arrived).to_be_focused()
    expect(arrived).to_contain_text("fresh from the oven")
    expect(arrived.get_by_role("link", name=friend.username).first).to_have_attribute("href", f"/{friend.username}")

    mine = post_photo(http, viewer, caption="my own")
    expect(page.get_by_role("article").first).to_have_accessible_name(f"Post by {viewer.username}")
    expect(page.get_by_role("button", name="1 new post")).to_have_count(0)  # own posts go straight in
    expect(page.get_by_role("article")).to_have_count(2)
    assert http.post(f"/api/posts/{mine['post_id']}/like", headers=friend.headers).status_code == 200
    expect(card(page, viewer.username).get_by_text("1 like", exact=True)).to_be_visible()  # the live notification
    page.wait_for_load_state("networkidle")
    screenshot(page, screenshot_dir, "feed")

    assert http.delete(f"/api/posts/{theirs['post_id']}", headers=friend.headers).status_code == 204
    expect(card(page, friend.username)).to_have_count(0)
    expect(page.get_by_role("article")).to_have_count(1)
    assert log.foreign(base) == []
    assert log.errors == []


def test_likes_are_optimistic_and_rolled_back_on_error(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        world: World) -> None:
    viewer = register(http, "feed")
    post = world.photos[-1]
    like_url = f"{live_server.url}/api/posts/{post['post_id']}/like"
    log = signed_in(open_page, viewer)
    page, base = log.page, live_server.url
    page.goto(f"{base}/p/{post['post_id']}")
    like = page.get_by_role("button", name="Like")
    expect(like).to_have_attribute("aria-pressed", "false")
    before = post["like_count"]
    count = page.locator("article .likes")
    expect(count).to_have_text(likes(before))

    held: list[Route] = []
    page.route(like_url, lambda route: held.append(route))
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")  # at once, before any answer
    expect(count).to_have_text(likes(before + 1))
    held_request(page, held).fulfill(
        status=429, headers={"Retry-After": "5"}, content_type="application/json",
        body=json.dumps({"error": {"code": "rate_limited", "message": "slow down"}}))
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(count).to_have_text(likes(before))
    expect(page.get_by_role("alert").filter(has_text="Could not like the post: slow down")).to_be_visible()
    page.unroute(like_url)

    photo = page.locator("article picture img")
    photo.dblclick()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(count).to_have_text(likes(before + 1))
    expect(page.get_by_role("alert").filter(has_text="Could not")).to_have_count(0)
    page.wait_for_load_state("networkidle")
    photo.dblclick()  # a second double-click never unlikes
    page.wait_for_load_state("networkidle")
    expect(like).to_have_attribute("aria-pressed", "true")
    assert http.get(f"/api/posts/{post['post_id']}", headers=viewer.headers).json()["liked_by_viewer"]

    page.reload()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(count).to_have_text(likes(before + 1))
    like.click()
    expect(like).to_have_attribute("aria-pressed", "false")
    expect(count).to_have_text(likes(before))
    page.wait_for_load_state("networkidle")
    assert not http.get(f"/api/posts/{post['post_id']}", headers=viewer.headers).json()["liked_by_viewer"]
    assert log.foreign(base) == []
    assert log.errors_besides((429, like_url)) == []


def test_comments_page_add_fail_and_delete_with_text_kept_as_text(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        world: World) -> None:
    viewer = register(http, "feed")
    follow(http, viewer, world.photographer)
    hostile = world.photos[1]
    comments_url = f"{live_server.url}/api/posts/{hostile['post_id']}/comments"
    log = signed_in(open_page, viewer)
    page, base = log.page, live_server.url
    page.goto(base + "/")
    post = page.locator(f"#post-{hostile['post_id']}")
    expect(post.locator(".caption")).to_have_text(f"{world.photographer.username} caption {HOSTILE} #tagged")
    expect(post.get_by_role("link", name="#tagged")).to_have_attribute("href", "/explore/tags/tagged")

    toggle = post.get_by_role("button", name=f"View all {COMMENT_PAGE + 1} comments")
    toggle.click()
    expect(post.get_by_role("button", name="Hide comments")).to_have_attribute("aria-expanded", "true")
    comments = post.get_by_role("list", name="Comments").get_by_role("listitem")
    expect(comments).to_have_count(COMMENT_PAGE)
    expect(comments.first).to_contain_text("comment 0")
    expect(comments.nth(1)).to_contain_text(f"comment {HOSTILE}")
    expect(post.get_by_role("button", name="Delete comment by")).to_have_count(0)  # none of them is the viewer's
    post.get_by_role("button", name="Load more comments").click()
    expect(comments).to_have_count(COMMENT_PAGE + 1)
    expect(comments.last).to_contain_text(f"comment {COMMENT_PAGE}")
    expect(post.get_by_role("button", name="Load more comments")).to_have_count(0)

    box = post.get_by_role("textbox", name="Add a comment")
    page.route(comments_url, lambda route: route.fulfill(
        status=500, content_type="application/json",
        body=json.dumps({"error": {"code": "internal", "message": "try later"}}))
        if route.request.method == "POST" else route.fallback())
    box.fill(f"mine {HOSTILE} #yes")
    post.get_by_role("button", name="Post", exact=True).click()
    expect(post.get_by_role("alert").filter(has_text="Could not post the comment: try later")).to_be_visible()
    expect(box).to_have_value(f"mine {HOSTILE} #yes")  # kept for another try
    page.unroute(comments_url)
    post.get_by_role("button", name="Post", exact=True).click()
    expect(comments).to_have_count(COMMENT_PAGE + 2)
    expect(comments.last).to_contain_text(f"{viewer.username} mine {HOSTILE} #yes")
    expect(box).to_have_value("")
    expect(post.get_by_role("alert").filter(has_text="Could not")).to_have_count(0)
    post.get_by_role("button", name="Hide comments").click()
    expect(post.get_by_role("button", name=f"View all {COMMENT_PAGE + 2} comments")).to_be_visible()

    post.get_by_role("button", name=f"View all {COMMENT_PAGE + 2} comments").click()
    post.get_by_role("button", name="Load more comments").click()
    expect(comments).to_have_count(COMMENT_PAGE + 2)
    post.get_by_role("button", name=f"Delete comment by {viewer.username}").click()
    expect(comments).to_have_count(COMMENT_PAGE + 1)
    expect(post.get_by_text("mine")).to_have_count(0)
    post.get_by_role("button", name="Hide comments").click()
    expect(post.get_by_role("button", name=f"View all {COMMENT_PAGE + 1} comments")).to_be_visible()
    listed = http.get(f"/api/posts/{hostile['post_id']}/comments", params={"limit": 100}).json()["comments"]
    assert len(listed) == COMMENT_PAGE + 1

    assert page.evaluate("() => window.__pwned") is None
    assert page.locator("#app img[src=x]").count() == 0
    assert log.foreign(base) == []
    assert log.errors_besides((500, comments_url)) == []


def test_post_page_deep_link_delete_and_unavailable(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        world: World, screenshot_dir: Path) -> None:
    viewer = register(http, "feed")
    log = signed_in(open_page, viewer)
    page, base = log.page, live_server.url
    big = world.photos[0]
    page.goto(f"{base}/p/{big['post_id']}")
    post = card(page, world.photographer.username)
    expect(post.get_by_role("img", name="A test pattern fading to pink")).to_be_visible()
    expect(post.get_by_text("No comments yet.")).to_be_visible()  # open from the start
    expect(post.get_by_role("textbox", name="Add a comment")).to_be_visible()
    expect(post.get_by_role("link", name=world.photographer.username).first).to_have_attribute(
        "href", f"/{world.photographer.username}")
    expect(post.locator(f"a[href='/p/{big['post_id']}'] time")).to_have_attribute("datetime", big["created_at"])
    page.reload()
    expect(post.get_by_role("img", name="A test pattern fading to pink")).to_be_visible()
    page.wait_for_load_state("networkidle")
    screenshot(page, screenshot_dir, "post")

    mine = post_photo(http, viewer, caption="short-lived")
    page.goto(f"{base}/p/{mine['post_id']}")
    delete = page.get_by_role("button", name="Delete post")
    delete.click()
    expect(page.get_by_role("button", name="Cancel")).to_be_focused()  # no window.confirm
    page.get_by_role("button", name="Cancel").click()
    expect(delete).to_be_focused()
    delete.click()
    page.get_by_role("button", name="Confirm delete").click()
    expect(page).to_have_url(f"{base}/{viewer.username}")
    assert http.get(f"/api/posts/{mine['post_id']}").status_code == 404

    gone = post_photo(http, viewer, caption="deleted elsewhere")
    page.goto(f"{base}/p/{gone['post_id']}")
    expect(page.get_by_text("deleted elsewhere")).to_be_visible()
    expect_online(page)
    assert http.delete(f"/api/posts/{gone['post_id']}", headers=viewer.headers).status_code == 204
    expect(page.get_by_role("heading", name="This post was deleted")).to_be_visible()

    missing = f"{base}/p/1"
    page.goto(missing)
    expect(page.get_by_role("heading", name="This post isn't available")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the home page")).to_be_visible()

    guest = open_page()  # signed out: public posts show, liking and commenting ask to sign in
    guest.page.goto(f"{base}/p/{big['post_id']}")
    expect(guest.page.get_by_role("img", name="A test pattern fading to pink")).to_be_visible()
    expect(guest.page.get_by_role("link", name="Sign in").last).to_have_attribute("href", "/login")
    expect(guest.page.get_by_role("button", name="Like")).to_have_count(0)
    expect(guest.page.get_by_role("textbox", name="Add a comment")).to_have_count(0)
    for each in (log, guest):
        assert each.foreign(base) == []
    assert log.errors_besides((404, f"{base}/api/posts/1")) == []
    assert guest.errors == []


def test_video_post_plays(
        live_server: ServerProcess, open_page: Callable[[], PageLog], world: World) -> None:
    log = open_page()
    page, base = log.page, live_server.url
    page.goto(f"{base}/p/{world.video['post_id']}")
    video = page.locator("article video")
    expect(video).to_have_attribute("src", world.video["mp4_url"])
    expect(video).to_have_attribute("poster", world.video["variants"]["640"]["webp"])
    expect(video).to_have_attribute("preload", "metadata")
    expect(video).to_have_js_property("playsInline", True)
    expect(video).to_have_accessible_name(f"Video by {world.video['author']['username']}")
    expect_playing(page, video)
    assert log.foreign(base) == []
    assert log.errors == []
