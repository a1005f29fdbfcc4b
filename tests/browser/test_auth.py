"""Signing up, in and out in a real Chromium: the session survives a reload, a token
revoked elsewhere sends the page to sign-in, and the server's errors show beside the form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Dialog, Page, expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import bearer, unique_name
from tests.support.web import (
    PASSWORD,
    expect_signed_in,
    register,
    sign_up,
    signed_up,
    stored_token,
)

pytestmark = pytest.mark.slow


def expect_signed_out(page: Page) -> None:
    account = page.get_by_role("navigation", name="Account")
    expect(account.get_by_role("link", name="Sign in")).to_be_visible()
    expect(account.get_by_role("link", name="Sign up")).to_be_visible()
    expect(account.get_by_role("button", name="Sign out")).to_have_count(0)
    assert stored_token(page) is None


def test_sign_up_then_reload_then_sign_out(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    log = open_page()
    page, base = log.page, live_server.url
    page.goto(base + "/signup")
    expect(page.get_by_label("Username")).to_have_attribute("autocomplete", "username")
    expect(page.get_by_label("Email")).to_have_attribute("autocomplete", "email")
    expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "new-password")
    screenshot(page, screenshot_dir, "signup")

    username = unique_name("web")
    token = signed_up(page, base, username).token
    screenshot(page, screenshot_dir, "home-signed-in")

    page.reload()
    expect_signed_in(page, username)
    assert stored_token(page) == token

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(base + "/login")
    expect_signed_out(page)
    assert http.get("/api/me", headers=bearer(token)).status_code == 401  # revoked, not just forgotten

    loads_before = len(log.urls)
    page.reload()
    page.wait_for_load_state("networkidle")
    expect_signed_out(page)
    assert base + "/api/me" not in log.urls[loads_before:]  # no token, no call (no console error)
    assert log.foreign(base) == []
    assert log.errors == []


@pytest.mark.parametrize("by", ["username", "email"])
def test_sign_in_by_username_or_email(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path, by: str) -> None:
    username = register(http).username
    log = open_page()
    page, base = log.page, live_server.url
    page.goto(base + "/login")
    expect(page.get_by_label("Username or email")).to_have_attribute("autocomplete", "username")
    expect(page.get_by_label("Password")).to_have_attribute("autocomplete", "current-password")
    if by == "username":
        screenshot(page, screenshot_dir, "login")

    page.get_by_label("Username or email").fill(username if by == "username" else f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(base + "/")
    expect_signed_in(page, username)
    assert log.foreign(base) == []
    assert log.errors == []


def test_wrong_password_shows_the_server_message(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client) -> None:
    username = register(http).username
    log = open_page()
    page, base = log.page, live_server.url
    page.goto(base + "/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("alert")).to_have_text("wrong login or password")
    expect(page).to_have_url(base + "/login")
    expect_signed_out(page)
    assert log.foreign(base) == []
    assert log.errors_besides((401, base + "/api/auth/login")) == []


def test_invalid_username_marks_the_field(
        live_server: ServerProcess, open_page: Callable[[], PageLog], screenshot_dir: Path) -> None:
    log = open_page()
    page, base = log.page, live_server.url
    sign_up(page, base, "..")

    expect(page.get_by_role("alert")).to_contain_text("username:")
    username = page.get_by_label("Username")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_be_focused()
    expect(page.get_by_label("Email")).not_to_have_attribute("aria-invalid", "true")
    screenshot(page, screenshot_dir, "signup-error")
    expect(page).to_have_url(base + "/signup")
    expect_signed_out(page)
    assert log.errors_besides((422, base + "/api/auth/register")) == []


def test_token_revoked_while_open_sends_to_sign_in_live(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client) -> None:
    log = open_page()
    page, base = log.page, live_server.url
    username = unique_name("web")
    token = signed_up(page, base, username).token
    assert http.post("/api/auth/logout", headers=bearer(token)).status_code == 204

    expect(page).to_have_url(base + "/login")  # the websocket's 4001, without a reload
    expect_signed_out(page)
    assert stored_token(page) is None
    page.reload()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert log.foreign(base) == []
    assert log.errors == []


def test_token_revoked_while_away_sends_to_sign_in(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client) -> None:
    log = open_page()
    page, base = log.page, live_server.url
    username = unique_name("web")
    token = signed_up(page, base, username).token
    page.goto("about:blank")
    assert http.post("/api/auth/logout", headers=bearer(token)).status_code == 204
    # No animation frames: Preact runs effects on its 100 ms fallback, so the early feed
    # request's 401 sends to /login before the router listens (once seen in CI by chance).
    page.add_init_script("window.requestAnimationFrame = () => 0;")

    page.goto(base + "/")
    expect(page).to_have_url(base + "/login")
    expect_signed_out(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert log.foreign(base) == []
    # the session check and the home feed's first page, asked for side by side
    refused = (401, base + "/api/me"), (401, base + "/api/feed?limit=10")
    log.wait_for_failed_loads(*refused)
    assert log.errors_besides(*refused) == []


def test_user_text_is_shown_as_text(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client) -> None:
    log = open_page()
    page, base = log.page, live_server.url
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    username = unique_name("web")
    token = signed_up(page, base, username).token
    hostile = '<img src=x onerror=alert(1)><script>alert(2)</script>'
    response = http.patch("/api/me", headers=bearer(token), json={"display_name": hostile})
    assert response.status_code == 200, response.text

    page.reload()
    expect_signed_in(page, hostile)
    page.wait_for_load_state("networkidle")
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("#app script").count() == 0
    assert dialogs == []
    assert log.foreign(base) == []
    assert log.errors == []
