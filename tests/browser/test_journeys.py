"""Two people using Pixtrio at once, each in a browser of their own, through the pages as
a person would: signing up, posting a photo with its progress bar, following, a post
arriving live behind the "new post" button, likes and comments reaching the author's
notifications live, a post deleted from one browser leaving the other's feed, a reload,
a deep link, and a video playing."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import FilePayload, expect

from pixtrio.testing.browser import PageLog, screenshot
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import unique_name
from tests.support.images import jpeg
from tests.support.videos import clip
from tests.support.web import (
    expect_online,
    expect_playing,
    expect_signed_in,
    progress_seen,
    ready,
    record_progress,
    share,
    sign_up,
    signed_up,
)

pytestmark = pytest.mark.slow
CAPTION, ALT = "Dunes at dusk #sand", "Wind ripples on a sand dune"


def test_two_people_share_follow_react_and_delete_live(
        live_server: ServerProcess, open_page: Callable[[], PageLog], http: httpx.Client,
        screenshot_dir: Path, tmp_path: Path) -> None:
    base = live_server.url
    film = clip(tmp_path / "waves.mp4", seconds=1.0, audio=False).read_bytes()
    ann_log, bob_log = open_page(), open_page()
    ann, bob = ann_log.page, bob_log.page
    record_progress(ann)
    ann_name, bob_name = unique_name("ann"), unique_name("bob")
    sign_up(bob, base, bob_name)  # his browser finishes it while Ann signs up
    ann_account = signed_up(ann, base, ann_name)
    # Ann's video (through the API) is processed while she writes her photo post, and is
    # ready before that is shared: the feeds' order does not hang on which is done first.
    video_id = share(http, ann_account, film, "video/mp4", caption="Waves")
    expect(bob).to_have_url(base + "/")
    expect_signed_in(bob, bob_name)

    # Ann shares a photo from /new: the progress bar fills, the post leads her feed.
    ann.get_by_role("navigation", name="Main").get_by_role("link", name="New post").click()
    expect(ann.get_by_role("heading", name="New post")).to_be_visible()
    photo = jpeg(1200, 900)
    ann.get_by_label("Choose a photo or video").set_input_files(
        files=[FilePayload(name="dunes.jpg", mimeType="image/jpeg", buffer=photo)])
    expect(ann.get_by_role("img", name="Preview of the chosen photo")).to_be_visible()
    ann.get_by_label("Caption").fill(CAPTION)
    ann.get_by_label("Alt text").fill(ALT)
    ready(http, ann_account, [video_id])
    ann.get_by_role("button", name="Share").click()
    expect(ann).to_have_url(base + "/", timeout=30_000)
    ann_posts = ann.get_by_role("article")
    expect(ann_posts.first).to_contain_text(CAPTION)
    expect(ann_posts.first.get_by_role("img", name=ALT)).to_be_visible()
    seen = progress_seen(ann)
    assert seen[0][0] < len(photo), seen  # it started below full…
    assert [value for value, _ in seen] == sorted(value for value, _ in seen)
    assert seen[-1] == [len(photo), len(photo)]  # …and reached 100 % of the file's bytes
    photo_id = (ann_posts.first.get_attribute("id") or "").removeprefix("post-")
    expect(ann_posts).to_have_count(2)  # the photo, then the video
    screenshot(ann, screenshot_dir, "journey-ann-posted")

    # Bob follows Ann from her profile; she is told live.
    expect_online(ann)
    bell = ann.get_by_role("button", name=re.compile(r"^Notifications"))
    expect(bell).to_have_accessible_name("Notifications")
    bob.goto(f"{base}/{ann_name}")
    bob.get_by_role("button", name=f"Follow @{ann_name}", exact=True).click()
    following = bob.get_by_role("button", name=f"Following @{ann_name}")
    expect(following).to_have_attribute("aria-pressed", "true")
    expect(following).to_have_attribute("aria-busy", "false")
    expect(bell).to_have_accessible_name("Notifications, 1 unread")

    # With Bob's feed open, Ann's next post arrives live behind the "new post" button.
    bob.get_by_role("navigation", name="Main").get_by_role("link", name="Home").click()
    bob_posts = bob.get_by_role("article")
    expect(bob_posts).to_have_count(2)
    assert [p.get_attribute("id") for p in bob_posts.all()] == [f"post-{photo_id}", f"post-{video_id}"]
    expect_online(bob)
    bob.evaluate("() => { window.journeyNoReload = true; }")  # gone if the page reloads
    next_id = share(http, ann_account, jpeg(640, 480), caption="Second light")
    pill = bob.get_by_role("button", name="1 new post")
    expect(pill).to_be_visible()
    expect(bob_posts).to_have_count(2)
    screenshot(bob, screenshot_dir, "journey-bob-new-post")
    pill.click()
    arrived = bob.locator(f"#post-{next_id}")
    expect(arrived).to_be_focused()
    expect(arrived).to_contain_text("Second light")
    expect(bob_posts.first).to_have_id(f"post-{next_id}")
    expect(ann_posts.first).to_have_id(f"post-{next_id}")  # her own, straight to the top

    # Bob likes it and comments; Ann sees both arrive live.
    like = arrived.get_by_role("button", name="Like")
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(arrived.locator(".likes")).to_have_text("1 like")
    arrived.get_by_role("button", name="Comment").click()
    arrived.get_by_role("textbox", name="Add a comment").fill(f"What light, @{ann_name}!")
    arrived.get_by_role("button", name="Post", exact=True).click()
    expect(arrived.get_by_role("list", name="Comments").get_by_role("listitem")).to_have_text(
        [re.compile(re.escape(f"{bob_name} What light, @{ann_name}!"))])
    expect(bell).to_have_accessible_name("Notifications, 3 unread")
    expect(bell.locator(".badge")).to_have_text("3")
    expect(ann.locator(f"#post-{next_id} .likes")).to_have_text("1 like")
    bell.click()
    panel = ann.get_by_role("region", name="Notifications")
    expect(panel.get_by_role("link")).to_have_text([  # newest first
        f"{bob_name} commented on your post", f"{bob_name} liked your post",
        f"{bob_name} started following you"])
    expect(bell).to_have_accessible_name("Notifications")  # opening marks them read
    screenshot(ann, screenshot_dir, "journey-ann-notifications")

    # Ann opens the post from the notification and deletes it; it leaves Bob's feed.
    panel.get_by_role("link", name=f"{bob_name} commented on your post").click()
    expect(ann).to_have_url(f"{base}/p/{next_id}")
    ann.get_by_role("button", name="Delete post").click()
    ann.get_by_role("button", name="Confirm delete").click()
    expect(ann).to_have_url(f"{base}/{ann_name}")
    expect(arrived).to_have_count(0)
    expect(bob_posts).to_have_count(2)
    assert bob.evaluate("() => window.journeyNoReload") is True

    # A reload keeps Bob signed in; a deep link opens Ann's video, which plays.
    bob.reload()
    expect_signed_in(bob, bob_name)
    expect(bob_posts).to_have_count(2)
    bob.goto(f"{base}/p/{video_id}")
    video = bob.get_by_role("article", name=f"Post by {ann_name}").locator("video")
    expect(video).to_have_accessible_name(f"Video by {ann_name}")
    expect_playing(bob, video)
    screenshot(bob, screenshot_dir, "journey-bob-video")
    for log in (ann_log, bob_log):
        assert log.foreign(base) == []
        assert log.errors == []
