"""The live connection in a real Chromium: notifications reach the header as they happen,
a dropped socket shows the offline banner, resumes with `since` and replays what was
missed, a resume the server cannot honour makes the page refetch, and a tab keeps one
socket across client-side navigations."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import WebSocketRoute, expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess
from tests.support.web import expect_online, follow, ready, register, share, signed_in

pytestmark = pytest.mark.slow
OFFLINE = "Offline — reconnecting…"


def test_notifications_arrive_live_with_one_socket_per_tab(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    ann, bob = register(http, "live"), register(http, "live")
    post_id = share(http, ann)
    log = signed_in(open_page, ann, base + "/")
    page = log.page
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

    follow(http, bob, ann)
    expect(bell).to_have_accessible_name("Notifications, 1 unread")
    ready(http, ann, [post_id])
    assert http.post(f"/api/posts/{post_id}/like", headers=bob.headers).status_code == 200
    assert http.post(f"/api/posts/{post_id}/comments", headers=bob.headers,
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
        f"{bob.username} commented on your post", f"{bob.username} liked your post",
        f"{bob.username} started following you"])
    expect(panel.get_by_role("link", name=f"{bob.username} commented on your post")).to_have_attribute(
        "href", f"/p/{post_id}")
    expect(panel.get_by_role("link", name=f"{bob.username} started following you")).to_have_attribute(
        "href", f"/{bob.username}")
    expect(bell).to_have_accessible_name("Notifications")  # opening marks them read
    expect(bell.locator(".badge")).to_have_count(0)
    expect(bell).to_have_attribute("aria-expanded", "true")
    screenshot(page, screenshot_dir, "notifications-open")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell).to_be_focused()
    bell.click()
    panel.get_by_role("link", name=f"{bob.username} liked your post").click()
    expect(page).to_have_url(f"{base}/p/{post_id}")
    expect(panel).to_be_hidden()
    expect(page.locator("#main:focus, #main :focus")).to_have_count(1)  # focus moved to the screen

    nav = page.get_by_role("navigation", name="Main")
    account = page.get_by_role("navigation", name="Account")
    for link, path in [(account.get_by_role("link", name=ann.username), f"/{ann.username}"),
                       (account.get_by_role("link", name="Settings"), "/settings"),
                       (nav.get_by_role("link", name="New post"), "/new"),
                       (nav.get_by_role("link", name="Home"), "/")]:
        link.click()
        expect(page).to_have_url(base + path)
        expect(link).to_have_attribute("aria-current", "page")
    assert http.post(f"/api/posts/{post_id}/comments", headers=bob.headers,
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
    ann, bob, cid = register(http, "live"), register(http, "live"), register(http, "live")
    relay = Relay()
    log = signed_in(open_page, ann)
    page = log.page
    page.route_web_socket(re.compile(r"/ws$"), relay.route)
    page.goto(base + "/")
    status = page.locator(".connection")
    bell = page.get_by_role("button", name=re.compile(r"^Notifications"))
    expect_online(page)
    expect(status).to_have_attribute("role", "status")
    expect(status).to_be_empty()
    follow(http, bob, ann)
    expect(bell).to_have_accessible_name("Notifications, 1 unread")
    seen = relay.event_ids[-1]

    relay.drop()
    expect(status).to_have_text(OFFLINE)
    screenshot(page, screenshot_dir, "offline-banner")
    # the reconnect cannot come online before its auth frame is let through
    follow(http, cid, ann)
    expect(status).to_have_text(OFFLINE)
    relay.release()
    expect_online(page)
    expect(status).to_have_text("Back online")
    auth = relay.sockets[1][1][0]
    assert auth["t"] == "auth" and auth["since"] == seen
    expect(bell).to_have_accessible_name("Notifications, 2 unread")  # the follow made while away
    bell.click()
    expect(page.get_by_role("region", name="Notifications").get_by_role("link").first).to_have_text(
        f"{cid.username} started following you")
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
