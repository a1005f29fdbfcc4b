"""Private accounts' media over HTTP, against a real server: every view of their posts
links signed, expiring URLs that a follower can fetch; the same media unsigned, or under a
wrong or expired signature, answers 404; public media is unchanged."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import trio

from pixtrio.features.media.signing import MediaSigner
from pixtrio.protocol.messages import FeedInsert
from pixtrio.secret import load_or_create_secret
from pixtrio.testing.server_process import ServerProcess
from tests.support import videos
from tests.support.api import assert_error, bearer, register, unique_name
from tests.support.images import jpeg, png
from tests.support.posts import post_photo, publish, settled, upload
from tests.support.ws import connect

PRIVACY_TTL = 0.5
"""PIXTRIO_MEDIA_PRIVACY_TTL here: how long the origin may trust an account's old privacy."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"PIXTRIO_MEDIA_PRIVACY_TTL": str(PRIVACY_TTL)}
    with ServerProcess(tmp_path_factory.mktemp("signed") / "data", env=env) as running:
        yield running


@pytest.fixture
async def client(server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        yield http


def media_urls(post: dict[str, Any]) -> list[str]:
    urls = [post["media_url"], post["thumbnail_url"]]
    urls += [url for formats in post["variants"].values() for url in formats.values()]
    assert all(urls), post
    return urls


def signed(url: str) -> tuple[str, str, str]:
    """(path, exp, sig) of a signed URL; fails for any other."""
    split = urlsplit(url)
    args = parse_qs(split.query)
    assert set(args) == {"exp", "sig"}, url
    return split.path, args["exp"][0], args["sig"][0]


async def views_of(client: httpx.AsyncClient, token: str, owner: str, post_id: str,
                   tag: str) -> list[dict[str, Any]]:
    """The post as the viewer sees it by id, in the owner's posts, the tag and the feed."""
    views = []
    for path in (f"/api/posts/{post_id}", f"/api/users/{owner}/posts", f"/api/tags/{tag}/posts",
                 "/api/feed"):
        answer = await client.get(path, headers=bearer(token))
        assert answer.status_code == 200, (path, answer.text)
        body = answer.json()
        found = [body] if "post_id" in body else body["posts"]
        views += [p for p in found if p["post_id"] == post_id]
    assert len(views) == 4, views
    return views


async def fetched_private(client: httpx.AsyncClient, url: str) -> httpx.Response:
    answer = await client.get(url)
    assert answer.status_code == 200, (url, answer.text)
    _, exp, _ = signed(url)
    lifetime = int(exp) - time.time()
    cache = answer.headers["Cache-Control"]
    assert cache.startswith("private, max-age=")
    assert 0 < int(cache.removeprefix("private, max-age=")) <= lifetime + 1
    return answer


async def until_status(client: httpx.AsyncClient, url: str, status: int) -> httpx.Response:
    """Poll `url` until it answers `status` (the origin's privacy memory expiring)."""
    with trio.fail_after(20):
        while True:
            answer = await client.get(url)
            if answer.status_code == status:
                return answer
            await trio.sleep(PRIVACY_TTL / 5)


async def test_private_media_is_signed_and_public_media_unchanged(
        client: httpx.AsyncClient, server: ServerProcess) -> None:
    owner_token, owner = await register(client)
    fan_token, _ = await register(client)
    name, tag = owner["username"], unique_name("tag")
    await client.post(f"/api/users/{name}/follow", headers=bearer(fan_token))
    post = await post_photo(client, owner_token, jpeg(64, 48), caption=f"one #{tag}")
    post_id, url = post["post_id"], post["media_url"]

    # Public: the immutable answer as ever, unsigned everywhere.
    for view in await views_of(client, fan_token, name, post_id, tag):
        assert all("?" not in u for u in media_urls(view))
    public = await client.get(url)
    assert public.status_code == 200
    assert public.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = public.headers["ETag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304
    part = await client.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == public.content[:10]

    # Going private: the old URL stops working; every view links signed URLs.
    avatar = await client.put("/api/me/avatar", content=png(64, 64),
                              headers={**bearer(owner_token), "Content-Type": "image/png"})
    assert avatar.status_code == 200, avatar.text
    answer = await client.patch("/api/me", headers=bearer(owner_token), json={"is_private": True})
    assert answer.status_code == 200 and answer.json()["is_private"] is True
    assert_error(await until_status(client, url, 404), 404, "not_found")
    async with connect(server.url, fan_token) as fan_ws:
        second = await post_photo(client, owner_token, jpeg(48, 64), caption=f"two #{tag}")
        inserted = await fan_ws.next_of(FeedInsert)
    assert inserted.post["post_id"] == second["post_id"]
    assert all(signed(u) for u in media_urls(inserted.post))
    assert all(signed(u) for u in media_urls(second))  # the author's own view
    for viewer in (fan_token, owner_token):
        for view in await views_of(client, viewer, name, post_id, tag):
            for media_url in media_urls(view):
                assert signed(media_url)[0].startswith(f"/media/p/{post_id}/")
    fresh = (await client.get(f"/api/posts/{post_id}", headers=bearer(fan_token))).json()
    signed_url = fresh["media_url"]
    shown = await fetched_private(client, signed_url)
    assert shown.content == public.content and shown.headers["ETag"] == etag
    assert (await client.get(signed_url, headers={"If-None-Match": etag})).status_code == 304
    part = await client.get(signed_url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == public.content[:10]
    for media_url in media_urls(inserted.post):
        await fetched_private(client, media_url)

    # A private account's avatar stays public.
    picture = avatar.json()["profile_pic"]
    assert "?" not in picture
    answer = await client.get(picture)
    assert answer.status_code == 200 and "immutable" in answer.headers["Cache-Control"]

    # Anything but a valid, unexpired signature is a 404, as if the media did not exist.
    path, exp, sig = signed(signed_url)
    flipped = ("A" if sig[0] != "A" else "B") + sig[1:]
    signer = MediaSigner(load_or_create_secret(server.data_dir), ttl_s=1)
    for bad in (f"{path}?exp={exp}", f"{path}?sig={sig}", f"{path}?exp={exp}&sig={flipped}",
                f"{path}?exp={int(exp) + 600}&sig={sig}", f"{path}?exp=&sig=",
                signer.sign_until(path, int(time.time()) - 1)):
        assert_error(await client.get(bad), 404, "not_found")
    await fetched_private(client, signer.sign_until(path, int(time.time()) + 120))

    # Going public again: the unsigned URL works again, and views link it.
    answer = await client.patch("/api/me", headers=bearer(owner_token), json={"is_private": False})
    assert answer.status_code == 200
    again = await until_status(client, url, 200)
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for view in await views_of(client, fan_token, name, post_id, tag):
        assert all("?" not in u for u in media_urls(view))


async def test_a_private_video_plays_through_signed_playlists(
        client: httpx.AsyncClient, tmp_path: Path) -> None:
    token, _ = await register(client)
    answer = await client.patch("/api/me", headers=bearer(token), json={"is_private": True})
    assert answer.status_code == 200
    source = videos.clip(tmp_path / "in.mp4", size=(320, 240), seconds=2, audio=False)
    post_id, _ = await upload(client, token, source.read_bytes(), "video/mp4")
    await publish(client, token, post_id)
    post = await settled(client, token, post_id, within=120)
    assert post["status"] == "ready", post
    await fetched_private(client, post["mp4_url"])
    master = (await fetched_private(client, post["hls_url"])).text
    [rung] = [line for line in master.splitlines() if line and not line.startswith("#")]
    rung_url = urljoin(post["hls_url"], rung)
    segments = [line for line in (await fetched_private(client, rung_url)).text.splitlines()
                if line and not line.startswith("#")]
    assert segments
    for segment in segments:
        segment_url = urljoin(rung_url, segment)
        assert (await fetched_private(client, segment_url)).content
        assert_error(await client.get(segment_url.split("?")[0]), 404, "not_found")
