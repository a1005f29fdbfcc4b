"""axe-core on every screen of the app, signed out and signed in (as a moderator with a
private account and a follow request waiting), and with the notifications panel, a
profile's "…" menu and the report dialog open: no serious or critical violation anywhere.

axe-core comes with the `axe-playwright-python` package (its `axe.min.js`), so nothing is
fetched at run time; it is evaluated into each page through the DevTools protocol, which
the page's strict CSP does not govern.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from pixtrio.testing.browser import PageLog
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import unique_name
from tests.support.images import jpeg
from tests.support.web import (
    Account,
    expect_online,
    follow,
    grant,
    keep_token,
    ready,
    register,
    share,
)

pytestmark = pytest.mark.slow
FAILING = {"serious", "critical"}
UNKNOWN = "no_such_user_xyz"


@dataclass(frozen=True)
class Seeded:
    author: Account  # has a photo post and a follower
    reader: Account  # follows the author; a private moderator, asked to follow by someone
    shy: Account  # private, followed by nobody
    post_id: str
    tag: str


@pytest.fixture(scope="module")
def seeded(http: httpx.Client, live_server: ServerProcess) -> Seeded:
    """Two people, one following the other, and a photo post with a hashtag (published,
    maybe still processing: the test waits for it once its pages are opening); the reader
    is a private moderator with a follow request waiting and a report in the queue, and a
    third account is private."""
    author, reader, shy, asker = (register(http, "axe") for _ in range(4))
    follow(http, reader, author)
    grant(live_server.data_dir, reader)
    for private in (reader, shy):
        assert http.patch("/api/me", headers=private.headers, json={"is_private": True}).status_code == 200
    follow(http, asker, reader)
    tag = f"light{unique_name('')}".replace("_", "")
    post_id = share(http, author, jpeg(96, 64), caption=f"Morning #{tag} with @{reader.username}",
                    alt_text="A gradient of green and pink")
    reported = http.post("/api/reports", headers=asker.headers,
                         json={"target": "user", "id": author_id(http, author), "reason": "spam"})
    assert reported.status_code == 201, reported.text
    return Seeded(author, reader, shy, post_id, tag)


def author_id(http: httpx.Client, who: Account) -> str:
    return str(http.get("/api/me", headers=who.headers).json()["user_id"])


def paths(seeded: Seeded) -> list[str]:
    a = seeded.author.username
    return ["/", "/login", "/signup", "/new", "/settings", f"/p/{seeded.post_id}", f"/{a}",
            f"/{a}/followers", f"/{a}/following", f"/explore/tags/{seeded.tag}", f"/{UNKNOWN}",
            "/requests", "/mod", f"/{seeded.shy.username}"]


def report(where: str, violations: list[dict[str, Any]]) -> list[str]:
    """One readable entry per failing rule and element: where, rule, impact, what to fix."""
    return [f"{where}: {violation['id']} ({violation['impact']}): {violation['help']}\n"
            f"    at {', '.join(map(str, node['target']))}: {node['html'][:160]}"
            for violation in violations if violation["impact"] in FAILING
            for node in violation["nodes"]]


# Test instrumentation, run before the app: counts the page's fetches in flight, so a wait
# can end once the screen has loaded what it shows (networkidle only follows full loads).
QUIET = """(() => {
  let inflight = 0;
  let changed = performance.now();
  const fetch = window.fetch;
  window.fetch = (...args) => {
    inflight += 1;
    changed = performance.now();
    return fetch(...args).finally(() => { inflight -= 1; changed = performance.now(); });
  };
  window.pixtrioTestQuiet = (ms) => inflight === 0 && performance.now() - changed > ms;
  window.pixtrioTestGo = (path) => {
    history.pushState(null, '', path);
    dispatchEvent(new PopStateEvent('popstate'));
    changed = performance.now();
  };
})()"""


class Auditor:
    """Runs axe-core in one page as `who`, moving between screens in place so axe is
    loaded once; `found` collects the serious and critical violations."""

    def __init__(self, log: PageLog, base: str, who: str, account: Account | None = None) -> None:
        self.page, self.who = log.page, who
        self.found: list[str] = []
        if account is not None:
            keep_token(self.page, account.token)
        self.page.context.add_init_script(QUIET)
        self.page.goto(base + "/")
        self.page.evaluate(Axe().axe_script)

    def visit(self, path: str) -> None:
        """Shows `path` as a history move would, and waits until its screen has settled."""
        self.page.evaluate("path => pixtrioTestGo(path)", path)
        self.page.wait_for_function("() => pixtrioTestQuiet(150)", polling=50)
        expect(self.page.locator("main h1").first).to_be_visible()

    def audit(self, what: str) -> None:
        results = self.page.evaluate("axe.run({resultTypes: ['violations']})")
        self.found += report(f"{self.who}, {what}", results["violations"])


def unexpected(log: PageLog, seeded: Seeded) -> list[str]:
    """The page's errors but the 404s the unknown profile and the private one's posts
    provoke (Chromium logs each)."""
    return [error for error in log.errors if not ("status of 404" in error and (
        f"/api/users/{UNKNOWN}" in error or f"/api/users/{seeded.shy.username}/posts" in error))]


def test_every_page_has_no_serious_violations(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        seeded: Seeded) -> None:
    base = live_server.url
    logs = [open_page(), open_page()]
    guest = Auditor(logs[0], base, "signed out")
    member = Auditor(logs[1], base, "signed in", seeded.reader)
    ready(http, seeded.author, [seeded.post_id])
    for auditor in (guest, member):
        for path in paths(seeded):
            auditor.visit(path)
            auditor.audit(path)

    page = member.page
    expect_online(page)
    follow(http, seeded.author, seeded.reader)
    page.get_by_role("button", name="Notifications, 1 unread").click()
    expect(page.get_by_role("region", name="Notifications").get_by_role("link")).to_have_count(1)
    member.audit("notifications open")
    page.keyboard.press("Escape")

    member.visit(f"/{seeded.author.username}")
    page.get_by_role("button", name=f"More for @{seeded.author.username}").click()
    member.audit("profile menu open")
    page.get_by_role("button", name="Report").click()
    expect(page.get_by_role("dialog", name="Report this account")).to_be_visible()
    member.audit("report dialog open")

    found = guest.found + member.found
    assert not found, f"{len(found)} serious or critical accessibility violations:\n" + "\n".join(found)
    for log in logs:
        assert log.foreign(base) == []
        assert unexpected(log, seeded) == []
