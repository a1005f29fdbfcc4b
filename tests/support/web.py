"""What the browser tests share: accounts, follows and posts made through the API with a
sync httpx client, pages opened signed in, and checks of the app's own state (signed in,
live, upload progress, a video playing).

Sync, because the browser tests are plain functions (see tests/browser/conftest.py). The
media workers are another process: waiting for a post to be processed is polling.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Locator, Page, expect

from pixtrio.testing.browser import PageLog
from pixtrio.testing.server_process import REPO
from tests.support.api import bearer, unique_name
from tests.support.images import jpeg

PASSWORD = "correct horse"
TOKEN_KEY = "pixtrio.token"  # web/session.js
SMALL = jpeg(64, 48)
# Every value the page's <progress> takes, as [value, max], without touching the app.
_RECORD_PROGRESS = """
window.progressSeen = [];
new MutationObserver(() => {
  for (const bar of document.querySelectorAll('progress')) window.progressSeen.push([bar.value, bar.max]);
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'max'] });
"""


@dataclass(frozen=True)
class Account:
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header that acts as this account."""
        return bearer(self.token)


def register(http: httpx.Client, prefix: str = "web", **profile: str) -> Account:
    """A fresh account (its name starting with `prefix`) made through the API, with the
    `display_name`/`bio` given in `profile` set."""
    username = unique_name(prefix)
    answer = http.post("/api/auth/register", json={
        "username": username, "email": f"{username}@example.com", "password": PASSWORD})
    assert answer.status_code == 201, answer.text
    account = Account(username, answer.json()["token"])
    if profile:
        changed = http.patch("/api/me", headers=account.headers, json=profile)
        assert changed.status_code == 200, changed.text
    return account


def grant(data_dir: Path, who: Account, role: str = "moderator") -> None:
    """Gives `who` `role` with `pixtrio admin grant`, as an operator would."""
    done = subprocess.run(
        [sys.executable, "-m", "pixtrio.cli", "admin", "grant", who.username, "--role", role,
         "--data-dir", str(data_dir)],
        cwd=REPO, env=dict(os.environ), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr


def follow(http: httpx.Client, who: Account, whom: Account) -> None:
    answer = http.post(f"/api/users/{whom.username}/follow", headers=who.headers)
    assert answer.status_code == 200, answer.text


def upload(http: httpx.Client, who: Account, data: bytes, content_type: str = "image/jpeg") -> str:
    """Asks for an upload URL and PUTs `data` to it; returns the (unpublished) post's id.
    Ids are given in upload order, which is feed order."""
    grant = http.post("/api/posts/upload-url", headers=who.headers,
                      json={"content_type": content_type, "size": len(data)})
    assert grant.status_code == 201, grant.text
    put = http.put(grant.json()["upload_url"], content=data, headers={"Content-Type": content_type})
    assert put.status_code == 201, put.text
    return str(grant.json()["post_id"])


def publish(http: httpx.Client, who: Account, post_id: str, **fields: str) -> None:
    """Publishes an uploaded post with `fields` (caption, alt_text…); processing goes on."""
    answer = http.post(f"/api/posts/{post_id}/publish", headers=who.headers, json=fields)
    assert answer.status_code == 202, answer.text


def share(http: httpx.Client, who: Account, data: bytes = SMALL, content_type: str = "image/jpeg",
          **fields: str) -> str:
    """Uploads and publishes `data`; returns the post's id (maybe still processing)."""
    post_id = upload(http, who, data, content_type)
    publish(http, who, post_id, **fields)
    return post_id


def settled(http: httpx.Client, who: Account, post_ids: list[str],
            within: float = 60) -> list[dict[str, Any]]:
    """The posts, as their author `who` sees them, once none is processing (ready or failed)."""
    deadline = time.monotonic() + within
    while True:
        posts = [http.get(f"/api/posts/{p}", headers=who.headers).json() for p in post_ids]
        if all(p["status"] != "processing" for p in posts):
            return posts
        assert time.monotonic() < deadline, f"posts still processing: {post_ids}"
        time.sleep(0.05)


def ready(http: httpx.Client, who: Account, post_ids: list[str]) -> list[dict[str, Any]]:
    """`settled`, asserting every post was processed successfully."""
    posts = settled(http, who, post_ids)
    assert all(p["status"] == "ready" for p in posts), posts
    return posts


def post_photo(http: httpx.Client, who: Account, data: bytes = SMALL,
               content_type: str = "image/jpeg", **fields: str) -> dict[str, Any]:
    """Uploads, publishes and waits for `data` (a photo unless `content_type` says
    otherwise); returns the ready post."""
    return ready(http, who, [share(http, who, data, content_type, **fields)])[0]


def keep_token(page: Page, token: str) -> None:
    """Has every later load of `page` start with `token` stored, as after signing in (so
    a sign-out lasts until the next load)."""
    page.add_init_script(f"localStorage.setItem({TOKEN_KEY!r}, {json.dumps(token)})")


def signed_in(open_page: Callable[[], PageLog], who: Account, url: str | None = None) -> PageLog:
    """A fresh page whose stored session is `who`'s, opened at `url` when given (leave it
    out to route or listen before the first load)."""
    log = open_page()
    keep_token(log.page, who.token)
    if url is not None:
        log.page.goto(url)
    return log


def stored_token(page: Page) -> str | None:
    token: str | None = page.evaluate("key => localStorage.getItem(key)", TOKEN_KEY)
    return token


def sign_up(page: Page, base: str, username: str) -> None:
    """Fills in and sends the /signup form (the email is made from `username`)."""
    page.goto(base + "/signup")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def signed_up(page: Page, base: str, username: str) -> Account:
    """Signs up through the /signup form and waits until the page is home, signed in;
    returns the account with the token the page stored."""
    sign_up(page, base, username)
    expect(page).to_have_url(base + "/")
    expect_signed_in(page, username)
    token = stored_token(page)
    assert token is not None
    return Account(username, token)


def expect_signed_in(page: Page, name: str) -> None:
    """The header shows `name` (a display name or username) signed in."""
    account = page.get_by_role("navigation", name="Account")
    expect(account.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(account.get_by_role("button", name="Sign out")).to_be_visible()
    expect(account.get_by_role("link", name="Sign in")).to_have_count(0)


def expect_online(page: Page) -> None:
    """The page's live connection has had the server's hello (web/live.js goes 'online'
    then), so server events reach it from now on."""
    expect(page.locator(".connection")).to_have_class(re.compile(r"\bonline\b"))


def record_progress(page: Page) -> None:
    """From the next load on, `progress_seen(page)` lists every [value, max] a
    `<progress>` in the page took."""
    page.add_init_script(_RECORD_PROGRESS)


def progress_seen(page: Page) -> list[list[float]]:
    seen: list[list[float]] = page.evaluate("() => window.progressSeen")
    return seen


def forget_progress(page: Page) -> None:
    """Empties what `progress_seen` lists, for a fresh upload."""
    page.evaluate("() => { window.progressSeen.length = 0; }")


def expect_playing(page: Page, video: Locator) -> None:
    """`video`, muted, starts playing and gets past 0.3 s without an error."""
    assert video.evaluate(
        "v => { v.muted = true; return v.play().then(() => 'playing', e => String(e)); }") == "playing"
    page.wait_for_function("v => v.currentTime > 0.3", arg=video.element_handle())
    assert video.evaluate("v => v.error") is None
