"""The live connection in a real Chromium: notifications reach the header as they happen,
a dropped socket shows the offline banner, resumes with `since` and replays what was
missed, a resume the server cannot honour makes the page refetch, and a tab keeps one
socket across client-side navigations."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.support.api import bearer, unique_name
from tests.support.browser import PageLog, screenshot
from tests.support.images import jpeg
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow
TOKEN_KEY = "pixtrio.token"
OFFLINE = "Offline — reconnecting…"


@pytest.fixture
def http(live_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


def register(http: httpx.Client) -> tuple[str, str]:
    """A fresh account made through the API: (username, token)."""
    username = unique_name("live")
    response = http.post("/api/auth/register", json={
        "username": username, "email": f"{username}@example.com", "password": "correct horse"})
    assert response.status_code == 201, response.text
    return username, response.json()["token"]


def publish_photo(http: httpx.Client, token: str) -> str:
    """Uploads and publishes a small photo; returns its post id (still processing)."""
    data = jpeg(64, 48)
    grant = http.post("/api/posts/upload-url", headers=bearer(token),
                      json={"content_type": "image/jpeg", "size": len(data)})
    assert grant.status_code == 201, grant.text
    put = http.put(grant.json()["upload_url"], content=data, headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 201, put.text
    post_id: str = grant.json()["post_id"]
    published = http.post(f"/api/posts/{post_id}/publish", headers=bearer(token), json={})
    assert published.status_code == 202, published.text
    return post_id


def wait_ready(http: httpx.Client, token: str, post_id: str, within: float = 60) -> None:
    """Polls until the media workers have processed the post (another process: nothing to await)."""
    deadline = time.monotonic() + within
    while (status := http.get(f"/api/posts/{post_id}", headers=bearer(token)).json()["status"]) \
            == "processing":
        assert time.monotonic() < deadline, f"post {post_id} still processing"
        time.sleep(0.1)
    assert status == "ready"


def signed_in_page(log: PageLog, token: str) -> Page:
    """The page, with `token` in localStorage before any of the app's scripts run."""
    log.page.context.add_init_script(f"localStorage.setItem({TOKEN_KEY!r}, {json.dumps(token)})")
    return log.page


def expect_online(page: Page) -> None:
    expect(page.locator(".connection")).to_have_class(re.compile(r"\bonline\b"))


def test_notifications_arrive_live_with_one_socket_per_tab(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    ann, ann_token = register(http)
    bob, bob_token = register(http)
    post_id = publish_photo(http, ann_token)
    log = open_page()
    page = signed_in_page(log, ann_token)
    page.goto(base + "/")
    bell = page.get_by_role("button", name=re.compile(r"^Notifications"))
    expect(bell).to_have_accessible_name("Notifications")
    expect_online(page)

    page.keyboard.press("Tab")  # the first stop is the skip link, shown on focus
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0
    page.keyboard.press("Enter")
    expect(page.locator("#main:focus, #main :focus")).to_have_count(1)

    assert http.post(f"/api/users/{ann}/follow", headers=bearer(bob_token)).status_code == 200
    expect(bell).to_have_accessible_name("Notifications, 1 unread")
    wait_ready(http, ann_token, post_id)
    assert http.post(f"/api/posts/{post_id}/like", headers=bearer(bob_token)).status_code == 200
    assert http.post(f"/api/posts/{post_id}/comments", headers=bearer(bob_token),
                     json={"text": "lovely"}).status_code == 201
    expect(bell).to_have_accessible_name("Notifications, 3 unread")
    expect(bell.locator(".badge")).to_have_text("3")
    expect(bell).to_have_attribute("aria-expanded", "false")
    screenshot(page, screenshot_dir, "header-signed-in")

    bell.click()
    panel = page.get_by_role("region", name="Notifications")
    expect(panel.get_by_role("heading", name="Notifications")).to_be_focused()
    expect(panel.get_by_role("listitem")).to_have_count(3)
    expect(panel.get_by_role("link")).to_have_text([  # newest first
        f"{bob} commented on your post", f"{bob} liked your post", f"{bob} started following you"])
    expect(panel.get_by_role("link", name=f"{bob} commented on your post")).to_have_attribute(
        "href", f"/p/{post_id}")
    expect(panel.get_by_role("link", name=f"{bob} started following you")).to_have_attribute(
        "href", f"/{bob}")
    expect(bell).to_have_accessible_name("Notifications")  # opening marks them read
    expect(bell.locator(".badge")).to_have_count(0)
    expect(bell).to_have_attribute("aria-expanded", "true")
    screenshot(page, screenshot_dir, "notifications-open")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell).to_be_focused()
    bell.click()
    panel.get_by_role("link", name=f"{bob} liked your post").click()
    expect(page).to_have_url(f"{base}/p/{post_id}")
    expect(panel).to_be_hidden()
    expect(page.locator("#main:focus, #main :focus")).to_have_count(1)  # focus moved to the screen

    nav = page.get_by_role("navigation", name="Main")
    account = page.get_by_role("navigation", name="Account")
    for link, path in [(account.get_by_role("link", name=ann), f"/{ann}"),
                       (account.get_by_role("link", name="Settings"), "/settings"),
                       (nav.get_by_role("link", name="New post"), "/new"),
                       (nav.get_by_role("link", name="Home"), "/")]:
        link.click()
        expect(page).to_have_url(base + path)
        expect(link).to_have_attribute("aria-current", "page")
    assert http.post(f"/api/posts/{post_id}/comments", headers=bearer(bob_token),
                     json={"text": "again"}).status_code == 201
    expect(bell).to_have_accessible_name("Notifications, 1 unread")  # the same socket, still live
    assert [url for url in log.urls if url.startswith("ws")] == [base.replace("http", "ws", 1) + "/ws"]

    account.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(base + "/login")
    expect(bell).to_have_count(0)
    screenshot(page, screenshot_dir, "header-signed-out")
    assert log.foreign(base) == []
    assert log.errors == []


@dataclass
class Relay:
    """The app's sockets, each passed through to the server; the test can hold the page's
    frames, rewrite the server's hello, and close the server side."""

    hold: bool = False
    unrecover: bool = False
    sockets: list[tuple[WebSocketRoute, list[dict[str, Any]]]] = field(default_factory=list)
    pages: list[WebSocketRoute] = field(default_factory=list)
    held: list[str | bytes] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)

    def route(self, page_side: WebSocketRoute) -> None:
        server = page_side.connect_to_server()
        sent: list[dict[str, Any]] = []
        self.sockets.append((server, sent))
        self.pages.append(page_side)

        def from_page(message: str | bytes) -> None:
            sent.append(json.loads(message))
            if self.hold:
                self.held.append(message)
            else:
                server.send(message)

        def from_server(message: str | bytes) -> None:
            event = json.loads(message)
            if event["t"] == "hello" and self.unrecover:
                event["recovered"] = False
                message = json.dumps(event)
            if "id" in event:
                self.event_ids.append(event["id"])
            page_side.send(message)

        page_side.on_message(from_page)
        server.on_message(from_server)

    def drop(self) -> None:
        """Closes the newest connection, the server's side and the page's, as a network
        failure would; with `hold`, the page's frames on the next one wait for `release`."""
        self.hold = True
        server, _ = self.sockets[-1]
        server.close(code=1001)
        self.pages[-1].close(code=1001)

    def release(self) -> None:
        """Lets the held frames (and every later one) through to the newest connection."""
        self.hold = False
        server, _ = self.sockets[-1]
        for message in self.held:
            server.send(message)
        self.held.clear()


def test_reconnect_resumes_with_since_and_resyncs_when_events_were_lost(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    ann, ann_token = register(http)
    bob, bob_token = register(http)
    cid, cid_token = register(http)
    relay = Relay()
    log = open_page()
    page = signed_in_page(log, ann_token)
    page.route_web_socket(re.compile(r"/ws$"), relay.route)
    page.goto(base + "/")
    status = page.locator(".connection")
    bell = page.get_by_role("button", name=re.compile(r"^Notifications"))
    expect_online(page)
    expect(status).to_have_attribute("role", "status")
    expect(status).to_be_empty()
    assert http.post(f"/api/users/{ann}/follow", headers=bearer(bob_token)).status_code == 200
    expect(bell).to_have_accessible_name("Notifications, 1 unread")
    seen = relay.event_ids[-1]

    relay.drop()
    expect(status).to_have_text(OFFLINE)
    screenshot(page, screenshot_dir, "offline-banner")
    # the reconnect cannot come online before its auth frame is let through
    assert http.post(f"/api/users/{ann}/follow", headers=bearer(cid_token)).status_code == 200
    expect(status).to_have_text(OFFLINE)
    relay.release()
    expect_online(page)
    expect(status).to_have_text("Back online")
    auth = relay.sockets[1][1][0]
    assert auth["t"] == "auth" and auth["since"] == seen
    expect(bell).to_have_accessible_name("Notifications, 2 unread")  # the follow made while away
    bell.click()
    expect(page.get_by_role("region", name="Notifications").get_by_role("link").first).to_have_text(
        f"{cid} started following you")
    page.keyboard.press("Escape")

    relay.unrecover = True  # the server no longer holds what was missed: the feed is refetched
    with page.expect_request(lambda request: request.url.startswith(base + "/api/feed")):
        relay.drop()
        relay.release()
    expect_online(page)
    assert relay.sockets[2][1][0]["since"] == relay.event_ids[-1]
    assert [url for url in log.urls if url.startswith("ws")] == [base.replace("http", "ws", 1) + "/ws"] * 3
    assert log.foreign(base) == []
    assert log.errors == []
