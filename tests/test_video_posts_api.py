"""Video posts end to end against a real server: upload, transcode, serve, fail, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import m3u8
import pytest
import trio

from pixtrio.testing.server_process import ServerProcess
from tests.support import images, videos
from tests.support.api import assert_error, bearer, register
from tests.support.posts import post_photo, publish, settled, upload

IMMUTABLE = "public, max-age=31536000, immutable"


async def post_video(client: httpx.AsyncClient, token: str, path: Path,
                     content_type: str = "video/mp4", within: float = 120) -> dict[str, Any]:
    post_id, _ = await upload(client, token, await trio.Path(path).read_bytes(), content_type)
    published = await publish(client, token, post_id, caption="clip #test")
    assert published["kind"] == "video" and published["status"] == "processing"
    return await settled(client, token, post_id, within=within)


async def fetch(client: httpx.AsyncClient, url: str, content_type: str,
                cache: str = IMMUTABLE) -> bytes:
    answer = await client.get(url)
    assert answer.status_code == 200, url
    assert answer.headers["content-type"] == content_type
    assert answer.headers["cache-control"] == cache
    return answer.content


async def test_video_post_ladder_mp4_and_poster(client: httpx.AsyncClient, tmp_path: Path) -> None:
    token, _ = await register(client)
    source = videos.clip(tmp_path / "in.mp4", size=(1280, 720), seconds=5, fps=30)
    post = await post_video(client, token, source)
    assert post["status"] == "ready", post
    assert post["kind"] == "video" and post["duration_s"] == pytest.approx(5, abs=0.1)
    assert (post["width"], post["height"]) == (1080, 608)  # the poster, through the photo pipeline
    assert set(post["variants"]) == {"1080", "640", "320"} and post["blurhash"]

    master_text = (await fetch(client, post["hls_url"], "application/vnd.apple.mpegurl",
                               cache="public, max-age=60")).decode()
    master = m3u8.loads(master_text)
    assert [p.stream_info.resolution for p in master.playlists] == [(1280, 720), (854, 480),
                                                                    (426, 240)]
    segments = []
    for variant in master.playlists:
        assert variant.stream_info.bandwidth > 0
        assert variant.stream_info.codecs.startswith("avc1.") and "mp4a" in variant.stream_info.codecs
        playlist_url = urljoin(post["hls_url"], variant.uri)
        playlist = m3u8.loads((await fetch(client, playlist_url, "application/vnd.apple.mpegurl",
                                           cache="public, max-age=60")).decode())
        assert [s.duration for s in playlist.segments] == [4.0, pytest.approx(1.0, abs=0.05)]
        segments.append(urljoin(playlist_url, playlist.segments[0].uri))
    first = tmp_path / "seg.ts"
    first.write_bytes(await fetch(client, segments[0], "video/mp2t"))
    assert videos.decode_all(first)[:3] == (120, 1280, 720)

    mp4 = tmp_path / "progressive.mp4"
    mp4.write_bytes(await fetch(client, post["mp4_url"], "video/mp4"))
    assert videos.decode_all(mp4) == (150, 1280, 720, [0])  # plays from start to end
    part = await client.get(post["mp4_url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == mp4.read_bytes()[:100]

    deleted = await client.delete(f"/api/posts/{post['post_id']}", headers=bearer(token))
    assert deleted.status_code == 204
    for url in [post["hls_url"], post["mp4_url"], post["media_url"], *segments]:
        assert (await client.get(url)).status_code == 404, url


async def test_rotated_silent_mov_and_webm(client: httpx.AsyncClient, tmp_path: Path) -> None:
    token, _ = await register(client)
    turned = videos.clip(tmp_path / "phone.mov", size=(320, 240), seconds=2, audio=False,
                         rotation=90)
    post = await post_video(client, token, turned, "video/quicktime")
    assert post["status"] == "ready", post
    assert post["height"] > post["width"]  # the poster is upright
    mp4 = tmp_path / "out.mp4"
    mp4.write_bytes((await client.get(post["mp4_url"])).content)
    assert videos.decode_all(mp4) == (60, 240, 320, [0])
    master = m3u8.loads((await client.get(post["hls_url"])).text)
    assert [p.stream_info.codecs for p in master.playlists][0].count("mp4a") == 0

    webm = await post_video(client, token, videos.clip(tmp_path / "w.webm", seconds=1),
                            "video/webm")
    assert webm["status"] == "ready", webm


async def test_bad_videos_fail_with_reasons(client: httpx.AsyncClient, tmp_path: Path) -> None:
    token, _ = await register(client)
    whole = videos.clip(tmp_path / "whole.mp4", size=(320, 240), seconds=4, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    cases = {
        "the file has no video stream": videos.audio_only(tmp_path / "tone.mp4"),
        "the video could not be converted": cut,
        "at most 60 s": videos.clip(tmp_path / "long.mp4", size=(32, 32), seconds=61, fps=1,
                                    audio=False),
        "larger than 4096 pixels": videos.clip(tmp_path / "8k.mp4", size=(7680, 4320),
                                               seconds=0.04, fps=25, audio=False),
    }
    async with trio.open_nursery() as nursery:
        async def check(reason: str, path: Path) -> None:
            post = await post_video(client, token, path)
            assert post["status"] == "failed" and reason in post["failure_reason"], post

        for reason, path in cases.items():
            nursery.start_soon(check, reason, path)

    jpeg = images.jpeg(64, 64)
    grant = await client.post("/api/posts/upload-url", headers=bearer(token),
                              json={"content_type": "video/mp4", "size": len(jpeg)})
    refused = await client.put(grant.json()["upload_url"], content=jpeg,
                               headers={"Content-Type": "video/mp4"})
    assert_error(refused, 415, "unsupported_media_type")
    too_big = await client.post("/api/posts/upload-url", headers=bearer(token),
                                json={"content_type": "video/mp4", "size": 100 * 2**20 + 1})
    assert_error(too_big, 413, "too_large")
    photo = await post_photo(client, token, images.jpeg(400, 300))  # nothing else stopped
    assert photo["status"] == "ready"


async def test_photos_keep_moving_while_videos_transcode(client: httpx.AsyncClient,
                                                         tmp_path: Path) -> None:
    token, _ = await register(client)
    source = videos.clip(tmp_path / "long.mp4", size=(1280, 720), seconds=12, fps=30)
    first, _ = await upload(client, token, source.read_bytes(), "video/mp4")
    second, _ = await upload(client, token, source.read_bytes(), "video/mp4")
    await publish(client, token, first)
    await publish(client, token, second)
    photo = await post_photo(client, token, images.jpeg(1600, 1200))
    assert photo["status"] == "ready"
    waiting = (await client.get(f"/api/posts/{second}", headers=bearer(token))).json()
    assert waiting["status"] == "processing"  # one transcode at a time, photos unaffected
    for post_id in (first, second):
        assert (await settled(client, token, post_id, within=180))["status"] == "ready"


async def test_cpu_limit_fails_the_post_and_nothing_else(tmp_path: Path) -> None:
    """What a file that sends FFmpeg into a busy loop meets: its CPU budget runs out."""
    env = {"PIXTRIO_VIDEO_CPU_LIMIT": "0.5"}
    with ServerProcess(tmp_path / "data", env=env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            token, _ = await register(client)
            source = videos.clip(tmp_path / "in.mp4", size=(1280, 720), seconds=6)
            post = await post_video(client, token, source)
            assert post["status"] == "failed"
            assert post["failure_reason"] == ("the video could not be converted:"
                                              " it needed more than 0.5 s of CPU time")
            assert (await post_photo(client, token, images.jpeg(400, 300)))["status"] == "ready"
