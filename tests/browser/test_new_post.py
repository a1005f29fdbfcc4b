"""The new-post screen in a real Chromium: a chosen or dropped photo is previewed, its
upload shows real progress (from the PUT itself) and can be cancelled, the post is
processed and leads the feed; every problem (too large, not media, unreachable, failed
processing, an invalid caption) is said in words and keeps what was typed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import CDPSession, FilePayload, Locator, Page, expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess
from tests.support import images, videos
from tests.support.web import (
    Account,
    forget_progress,
    progress_seen,
    record_progress,
    register,
    signed_in,
)

pytestmark = pytest.mark.slow


def open_new_post(open_page: Callable[[], PageLog], http: httpx.Client,
                  base: str) -> tuple[PageLog, Account]:
    """A fresh account's page at /new, recording its upload progress (see `progress_seen`)."""
    account = register(http, "np")
    log = signed_in(open_page, account)
    record_progress(log.page)
    log.page.goto(base + "/new")
    return log, account


def upload_speed(cdp: CDPSession, bytes_per_s: int) -> None:
    """Throttles the page's uploads (-1: no limit), so progress can be watched."""
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": bytes_per_s})


def status(page: Page) -> Locator:
    """The screen's status line (the header has one of its own)."""
    return page.get_by_role("main").get_by_role("status")


def alert(page: Page) -> Locator:
    return page.get_by_role("main").get_by_role("alert")


def file_payload(name: str, data: bytes) -> FilePayload:
    """A JPEG by name and type, whatever `data` holds."""
    return FilePayload(name=name, mimeType="image/jpeg", buffer=data)


def expect_kept(page: Page, caption: str, alt: str) -> None:
    """The form is usable again with what was typed still in it."""
    expect(page.get_by_label("Caption")).to_have_value(caption)
    expect(page.get_by_label("Alt text")).to_have_value(alt)
    expect(page.get_by_role("button", name="Share")).to_be_enabled()
    expect(page.get_by_role("progressbar")).to_have_count(0)


def drop(page: Page, target: str, make_file: str) -> None:
    """Drops onto `target` the File the JS expression `make_file` builds in the page."""
    transfer = page.evaluate_handle(
        f"() => {{ const t = new DataTransfer(); t.items.add({make_file}); return t; }}")
    page.dispatch_event(target, "dragover", {"dataTransfer": transfer})
    expect(page.locator(target)).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event(target, "drop", {"dataTransfer": transfer})


def test_share_a_photo_with_progress_then_it_leads_the_feed(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path) -> None:
    base = live_server.url
    log, account = open_new_post(open_page, http, base)
    page = log.page
    expect(page.get_by_role("heading", name="New post")).to_be_visible()
    chooser = page.get_by_label("Choose a photo or video")
    expect(chooser).to_have_attribute("accept", "image/*,video/*")
    screenshot(page, screenshot_dir, "new-post-empty")

    photo = images.jpeg(1600, 1200)
    chooser.set_input_files(files=[file_payload("dunes.jpg", photo)])
    preview = page.get_by_role("img", name="Preview of the chosen photo")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    caption, alt = "Dunes at dusk #sand", "Wind ripples on a sand dune"
    page.get_by_label("Caption").fill(caption)
    page.get_by_label("Alt text").fill(alt)
    screenshot(page, screenshot_dir, "new-post-preview")

    # A slow upload shows its progress and can be cancelled: nothing is posted.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    upload_speed(cdp, 100_000)
    page.get_by_role("button", name="Share").click()
    bar = page.get_by_role("progressbar", name="Uploading")
    expect(bar).to_have_attribute("max", str(len(photo)))
    expect(status(page)).to_have_text("Uploading… keep this page open until it is done.")
    page.wait_for_function("() => document.querySelector('progress')?.value > 0")
    screenshot(page, screenshot_dir, "new-post-uploading")
    page.get_by_role("button", name="Cancel").click()
    expect(status(page)).to_have_text("Upload cancelled. Nothing was posted.")
    expect_kept(page, caption, alt)
    expect(preview).to_be_visible()
    assert http.get(f"/api/users/{account.username}/posts", headers=account.headers).json()["posts"] == []

    # A caption the server refuses (422) after the upload: fixing it publishes that upload.
    upload_speed(cdp, 2_000_000)
    forget_progress(page)
    page.get_by_label("Caption").fill(caption + "\u0007")
    page.get_by_role("button", name="Share").click()
    expect(alert(page)).to_contain_text("caption: must not contain control characters")
    expect_kept(page, caption + "\u0007", alt)
    expect(page.get_by_role("button", name="Share")).to_be_focused()
    seen = progress_seen(page)
    assert len({value for value, _ in seen}) > 2, seen  # it moved
    assert [value for value, _ in seen] == sorted(value for value, _ in seen)
    assert seen[-1] == [len(photo), len(photo)]  # 100 %, of the file's bytes

    grants = sum(url == base + "/api/posts/upload-url" for url in log.urls)
    page.get_by_label("Caption").fill(caption)
    page.get_by_role("button", name="Share").click()
    expect(status(page)).to_contain_text("Processing…")
    screenshot(page, screenshot_dir, "new-post-processing")
    expect(page).to_have_url(base + "/", timeout=30_000)
    assert sum(url == base + "/api/posts/upload-url" for url in log.urls) == grants  # not uploaded again
    puts = [url for url in log.urls if url.startswith(base + "/upload/")]
    assert len(puts) == 2 and puts[0] != puts[1]  # a new URL after the cancel

    expect(page.get_by_role("article").first).to_contain_text(caption)  # the home feed leads with it
    posts = http.get(f"/api/users/{account.username}/posts", headers=account.headers).json()["posts"]
    assert [(p["status"], p["caption"], p["alt_text"]) for p in posts] == [("ready", caption, alt)]
    feed = http.get("/api/feed", headers=account.headers).json()["posts"]
    assert feed[0]["post_id"] == posts[0]["post_id"]
    assert log.foreign(base) == []
    assert log.errors_besides((422, f"{base}/api/posts/{posts[0]['post_id']}/publish")) == []


def test_problems_are_said_and_keep_what_was_typed(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path, tmp_path: Path) -> None:
    base = live_server.url
    log, account = open_new_post(open_page, http, base)
    page = log.page
    page.get_by_role("button", name="Share").click()
    expect(alert(page)).to_have_text("Choose a photo or a video to share.")
    expect(page.get_by_label("Choose a photo or video")).to_be_focused()

    # Dropping a photo previews it.
    small = images.jpeg(320, 240)
    page.evaluate("bytes => { window.dropped = new Uint8Array(bytes); }", list(small))
    drop(page, ".drop", "new File([window.dropped], 'dropped.jpg', { type: 'image/jpeg' })")
    expect(page.get_by_role("img", name="Preview of the chosen photo")).to_be_visible()
    expect(page.get_by_text(f"dropped.jpg · {-(-len(small) // 1000)} KB")).to_be_visible()
    expect(page.locator("main [role=alert]")).to_be_empty()  # the earlier problem is gone
    missed = page.evaluate("""() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([window.dropped], 'missed.jpg', { type: 'image/jpeg' }));
      const drop = new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true });
      document.querySelector('h1').dispatchEvent(drop);
      return drop.defaultPrevented;
    }""")
    assert missed  # a drop beside the zone does not make the browser open the file
    caption, alt = "Kept through every problem", "A test picture"
    page.get_by_label("Caption").fill(caption)
    page.get_by_label("Alt text").fill(alt)

    # Larger than the server's limit: refused before any byte is sent (413).
    drop(page, ".drop", "new File([new Uint8Array(26 * 1024 * 1024)], 'huge.jpg', { type: 'image/jpeg' })")
    expect(page.get_by_text("huge.jpg · 27 MB")).to_be_visible()
    page.get_by_role("button", name="Share").click()
    expect(alert(page)).to_have_text(
        "This file is too large: the limit is 26 MB. Choose a smaller one.")
    expect_kept(page, caption, alt)
    expect(page.get_by_label("Choose another photo or video")).to_be_focused()

    # An image's name and type over bytes that are none (415 from the PUT).
    page.get_by_label("Choose another photo or video").set_input_files(
        files=[file_payload("fake.jpg", b"these bytes are plain text, not a JPEG\n" * 200)])
    expect(page.get_by_text("This browser cannot show a preview of this file.")).to_be_visible()
    page.get_by_role("button", name="Share").click()
    expect(alert(page)).to_contain_text("Pixtrio cannot take this file")
    expect_kept(page, caption, alt)
    screenshot(page, screenshot_dir, "new-post-error")

    # The upload never reaches the server.
    truncated = images.jpeg(1200, 900)[:5000]  # passes the sniff, fails processing
    page.get_by_label("Choose another photo or video").set_input_files(
        files=[file_payload("truncated.jpg", truncated)])
    page.route("**/upload/**", lambda route: route.abort())
    page.get_by_role("button", name="Share").click()
    expect(alert(page)).to_have_text(
        "Could not share: the upload did not reach the server; check the connection and try again.")
    expect_kept(page, caption, alt)
    page.unroute("**/upload/**")

    # Sent again, it is stored and published, but cannot be processed.
    page.get_by_role("button", name="Share").click()
    expect(status(page)).to_contain_text("Processing…")
    expect(alert(page)).to_contain_text("This photo could not be processed (", timeout=30_000)
    expect_kept(page, caption, alt)
    expect(page).to_have_url(base + "/new")
    posts = http.get(f"/api/users/{account.username}/posts", headers=account.headers).json()["posts"]
    assert [(p["status"], p["caption"]) for p in posts] == [("failed", caption)]
    expect(alert(page)).to_contain_text(posts[0]["failure_reason"])

    # A video is previewed as one, and has no alt text field.
    clip = videos.clip(tmp_path / "waves.webm", seconds=1.0, audio=False)
    page.get_by_label("Choose another photo or video").set_input_files(clip)
    expect(page.get_by_label("Preview of the chosen video")).to_be_visible()
    expect(page.get_by_label("Alt text")).to_have_count(0)
    expect(page.get_by_label("Caption")).to_have_value(caption)

    puts = [url for url in log.urls if url.startswith(base + "/upload/")]
    assert log.foreign(base) == []
    aborted = [e for e in log.errors if "net::ERR_FAILED" in e and "/upload/" in e]
    assert len(aborted) == 1, log.errors
    log.errors.remove(aborted[0])
    assert log.errors_besides((413, base + "/api/posts/upload-url"), (415, puts[0])) == []
