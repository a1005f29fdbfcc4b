"""Who may see what, and moderation, in a real Chromium against a real server: a private
account and its follow requests, blocking, muting, reporting, and the moderators' page.
Screenshots of the new screens are taken at phone and desktop widths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FilePayload, Page, expect

from pixtrio.testing.browser import PageLog
from pixtrio.testing.server_process import ServerProcess
from tests.support.images import png
from tests.support.web import (
    Account,
    expect_online,
    grant,
    post_photo,
    register,
    signed_in,
)

pytestmark = pytest.mark.slow
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


def shots(page: Page, folder: Path, name: str) -> None:
    """Full-page PNGs of `page` at a phone's and a desktop's size (`folder/name-<size>.png`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=folder / f"{name}-{size}.png", full_page=True)


def me(http: httpx.Client, who: Account) -> dict[str, object]:
    answer = http.get("/api/me", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def test_private_account_requests_are_withdrawn_accepted_and_open_the_profile(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    owner, reader = register(http, "prv", display_name="Hidden Hana"), register(http, "prv")
    post_photo(http, owner, alt_text="A quiet lake")
    owner_page = signed_in(open_page, owner, f"{base}/settings").page
    switch = owner_page.get_by_role("switch", name="Private account")
    expect(switch).not_to_be_checked()
    switch.check()
    expect(owner_page.get_by_role("status").filter(has_text="Your account is now private")).to_be_visible()
    assert me(http, owner)["is_private"] is True
    shots(owner_page, screenshot_dir, "settings-safety")

    page = signed_in(open_page, reader, f"{base}/{owner.username}").page
    expect(page.get_by_role("heading", name="This account is private")).to_be_visible()
    expect(page.get_by_text("Private account").first).to_be_attached()
    expect(page.get_by_role("list", name=f"Posts by @{owner.username}")).to_have_count(0)
    expect(page.get_by_role("link", name="0 followers")).to_have_count(0)  # no list to open
    shots(page, screenshot_dir, "profile-private")

    follow = page.get_by_role("button", name=f"Follow @{owner.username}", exact=True)
    follow.click()
    requested = page.get_by_role("button", name=f"Requested @{owner.username} (waiting for approval; press to withdraw)")
    expect(requested).to_have_attribute("aria-busy", "false")
    asked = http.get("/api/me/follow-requests", headers=owner.headers).json()["users"]
    assert [u["username"] for u in asked] == [reader.username]
    requested.click()  # withdraws
    expect(follow).to_have_attribute("aria-busy", "false")
    assert http.get("/api/me/follow-requests", headers=owner.headers).json()["users"] == []

    expect_online(owner_page)
    expect_online(page)
    follow.click()
    expect(requested).to_have_attribute("aria-busy", "false")
    # The request reaches the owner live: the header links to it with the count.
    link = owner_page.get_by_role("link", name="Follow requests (1 waiting)")
    link.click()
    expect(owner_page).to_have_url(f"{base}/requests")
    owner_page.get_by_role("heading", name="Follow requests").focus()
    shots(owner_page, screenshot_dir, "requests")
    owner_page.get_by_role("group", name=f"Request from @{reader.username}").get_by_role(
        "button", name="Accept").click()
    expect(owner_page.get_by_role("status").filter(has_text=f"@{reader.username} now follows you.")).to_be_visible()
    expect(link).to_have_count(0)
    # Accepted: the reader's open profile page opens up, live.
    expect(page.get_by_role("button", name=f"Following @{owner.username}")).to_be_visible()
    expect(page.get_by_role("list", name=f"Posts by @{owner.username}").get_by_role("listitem")).to_have_count(1)
    expect(page.get_by_role("heading", name="This account is private")).to_have_count(0)


def test_mute_and_block_from_the_profile_and_undo_them_in_settings(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    viewer, other = register(http, "blk"), register(http, "blk", display_name="Noisy Nate")
    page = signed_in(open_page, viewer, f"{base}/{other.username}").page
    more = page.get_by_role("button", name=f"More for @{other.username}")
    more.click()
    shots(page, screenshot_dir, "profile-menu")
    page.get_by_role("button", name="Mute", exact=True).click()
    expect(page.get_by_role("status").filter(has_text=f"Muted: posts by @{other.username}")).to_be_visible()
    seen = http.get(f"/api/users/{other.username}", headers=viewer.headers).json()
    assert seen["muted_by_viewer"] is True and seen["blocked_by_viewer"] is False

    page.goto(f"{base}/settings")
    muted = page.get_by_role("region", name="Muted accounts")
    expect(muted.get_by_text(f"@{other.username}")).to_be_visible()
    muted.get_by_role("button", name=f"Unmute @{other.username}").click()
    expect(muted.get_by_role("status")).to_have_text(f"Unmuted @{other.username}")
    assert http.get("/api/me/mutes", headers=viewer.headers).json()["users"] == []

    page.goto(f"{base}/{other.username}")
    more.click()
    page.get_by_role("button", name="Block", exact=True).click()
    question = page.get_by_role("group", name=f"Block @{other.username}?")
    expect(question.get_by_role("button", name="Cancel")).to_be_focused()
    shots(page, screenshot_dir, "profile-block-confirm")
    question.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_role("heading", name=f"You blocked @{other.username}")).to_be_visible()
    blocks = http.get("/api/me/blocks", headers=viewer.headers).json()["users"]
    assert [u["username"] for u in blocks] == [other.username]

    # The other one finds no such account.
    their = signed_in(open_page, other, f"{base}/{viewer.username}").page
    expect(their.get_by_role("heading", name="This account doesn't exist")).to_be_visible()

    page.goto(f"{base}/settings")
    blocked = page.get_by_role("region", name="Blocked accounts")
    expect(blocked.get_by_text(f"@{other.username}")).to_be_visible()
    shots(page, screenshot_dir, "settings-blocked")
    blocked.get_by_role("button", name=f"Unblock @{other.username}").click()
    expect(blocked.get_by_role("status")).to_have_text(f"Unblocked @{other.username}")
    assert http.get("/api/me/blocks", headers=viewer.headers).json()["users"] == []
    their.reload()
    expect(their.get_by_role("button", name=f"Follow @{viewer.username}", exact=True)).to_be_visible()


def test_a_report_reaches_the_moderators_page_which_resolves_it_and_suspends(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    author, reporter, moderator, spammer = (register(http, "rep") for _ in range(4))
    grant(live_server.data_dir, moderator)
    spammer_id = me(http, spammer)["user_id"]
    post = post_photo(http, author, caption="Buy cheap followers now")

    page = signed_in(open_page, reporter, f"{base}/p/{post['post_id']}").page
    expect(page.get_by_role("link", name="Moderation")).to_have_count(0)
    page.get_by_role("button", name=f"More for the post by {author.username}").click()
    page.get_by_role("button", name="Report").click()
    dialog = page.get_by_role("dialog", name="Report this post")
    expect(dialog).to_be_visible()
    shots(page, screenshot_dir, "report-dialog")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose a reason first.")
    dialog.get_by_role("radio", name="Spam or a scam").check()
    dialog.get_by_label("Anything to add? (optional)").fill("Selling followers")
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_role("status")).to_have_text("Thanks: the moderators will look at it.")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_have_count(0)
    queue = http.get("/api/mod/reports", headers=moderator.headers).json()["reports"]
    filed = next(r for r in queue if r["id"] == post["post_id"])
    assert (filed["target"], filed["reason"], filed["text"], filed["status"]) == (
        "post", "spam", "Selling followers", "open")

    page.goto(f"{base}/mod")  # not for a plain user
    expect(page.get_by_text("Not allowed: this page is for moderators.")).to_be_visible()
    expect(page.get_by_role("region", name="Reports")).to_have_count(0)

    mod = signed_in(open_page, moderator, f"{base}/").page
    mod.get_by_role("link", name="Moderation").click()
    expect(mod).to_have_url(f"{base}/mod")
    actions = mod.get_by_role("group", name=f"Resolve Report {filed['report_id']}")
    expect(actions).to_be_visible()
    shots(mod, screenshot_dir, "mod")
    actions.get_by_role("button", name=f"Suspend @{author.username}").click()
    expect(actions).to_have_count(0)
    assert http.get("/api/me", headers=author.headers).status_code == 401
    resolved = next(r for r in http.get("/api/mod/reports", headers=moderator.headers).json()["reports"]
                    if r["report_id"] == filed["report_id"])
    assert (resolved["status"], resolved["resolution"]) == ("resolved", "suspend")

    form = mod.get_by_role("form", name="Suspend an account")
    form.get_by_label("Username").fill(spammer.username)
    form.get_by_role("button", name="Suspend", exact=True).click()
    expect(form.get_by_role("status")).to_have_text(f"Suspended @{spammer.username}")
    assert http.get("/api/me", headers=spammer.headers).status_code == 401
    form.get_by_role("button", name="Unsuspend").click()
    expect(form.get_by_role("status")).to_have_text(f"Unsuspended @{spammer.username}")

    blocklist = mod.get_by_role("region", name="Photo blocklist")
    blocklist.get_by_label("Note (optional)").fill("known spam picture")
    blocklist.get_by_label("Block an image").set_input_files(
        FilePayload(name="spam.png", mimeType="image/png", buffer=png(256, 256)))
    blocklist.get_by_role("button", name="Add image").click()
    expect(blocklist.get_by_role("status")).to_have_text("Added to the blocklist")
    entries = http.get("/api/mod/hash-blocklist", headers=moderator.headers).json()["entries"]
    added = next(e for e in entries if e["note"] == "known spam picture")
    assert added["source"] == "image"
    blocklist.get_by_label("Block a PDQ hash (64 hexadecimal digits)").fill("f" * 64)
    blocklist.get_by_role("button", name="Add hash").click()
    expect(blocklist.get_by_text("f" * 64)).to_be_visible()
    blocklist.get_by_role("button", name=f"Remove the entry {added['pdq'][:12]}…").click()
    expect(blocklist.get_by_role("status")).to_have_text("Removed from the blocklist")
    entries = http.get("/api/mod/hash-blocklist", headers=moderator.headers).json()["entries"]
    assert added["block_id"] not in {e["block_id"] for e in entries}

    mod.reload()
    audit = mod.get_by_role("region", name="Audit log").get_by_role("listitem")
    expect(audit.filter(has_text="user.unsuspend").filter(has_text=spammer_id)).to_have_count(1)
    expect(audit.filter(has_text="hash.unblock")).not_to_have_count(0)
    shots(mod, screenshot_dir, "mod-after")
