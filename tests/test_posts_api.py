"""Photo posts end to end against a real server: upload, publish, process, serve, delete."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import httpx
import pyvips
import trio

from pixtrio.testing.server_process import ServerProcess
from tests.support import images
from tests.support.api import assert_error, bearer, register
from tests.support.posts import post_photo, publish, settled, upload


def decode(data: bytes) -> pyvips.Image:
    image = pyvips.Image.new_from_buffer(data, "")
    image.avg()  # forces a full decode
    return image


async def test_upload_publish_and_serve(client: httpx.AsyncClient) -> None:
    token, me = await register(client)
    _, other = await register(client)
    data = images.jpeg(1600, 1200)
    grant = await client.post("/api/posts/upload-url", headers=bearer(token),
                              json={"content_type": "image/jpeg", "size": len(data)})
    assert grant.status_code == 201
    body = grant.json()
    assert body["post_id"].isdigit() and body["expires_at"].endswith("Z")
    put = await client.put(body["upload_url"], content=data, headers={"Content-Type": "image/jpeg"})
    assert put.status_code == 201
    assert put.json() == {"post_id": body["post_id"], "received_bytes": len(data),
                          "sha256": hashlib.sha256(data).hexdigest()}

    published = await publish(client, token, body["post_id"], caption="Dusk #Beach #sun at the #beach",
                              location="Brighton", alt_text="a gradient")
    assert published["status"] == "processing" and published["hashtags"] == ["beach", "sun"]
    assert published["author"]["username"] == me["username"] and published["media_url"] is None

    post = await settled(client, token, body["post_id"])
    assert post["status"] == "ready", post
    assert (post["width"], post["height"]) == (1080, 810)
    assert set(post["variants"]) == {"1080", "640", "320"}
    assert post["media_url"] == post["variants"]["1080"]["webp"]
    assert post["thumbnail_url"] == post["variants"]["320"]["webp"]
    assert post["placeholder"].startswith("data:image/") and len(post["placeholder"]) < 2000
    assert len(post["blurhash"]) == 4 + 2 * 4 * 4  # 4×4 components
    expected = {"1080": (1080, 810), "640": (640, 480), "320": (320, 240)}
    for size, urls in post["variants"].items():
        assert set(urls) == {"webp", "jpeg", "avif"}
        for fmt, url in urls.items():
            served = await client.get(url)
            assert served.status_code == 200, url
            assert served.headers["content-type"] == f"image/{fmt}"
            image = decode(served.content)
            assert (image.width, image.height) == expected[size], (size, fmt)

    seen_by_other = await client.get(f"/api/posts/{body['post_id']}")
    assert seen_by_other.status_code == 200 and seen_by_other.json()["status"] == "ready"
    listed = (await client.get(f"/api/users/{me['username']}/posts")).json()
    assert [p["post_id"] for p in listed["posts"]] == [body["post_id"]]
    assert (await client.get(f"/api/users/{me['username']}")).json()["posts_count"] == 1
    assert other["posts_count"] == 0


async def test_publish_refuses_control_characters(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    post_id, _ = await upload(client, token, images.jpeg(64, 64))
    for fields, field, found in (
        ({"caption": "nul\u0000"}, "caption", "U+0000"),
        ({"alt_text": "\u001b]8;;evil"}, "alt_text", "U+001B"),
        ({"location": "two\nlines"}, "location", "U+000A"),
        ({"location": "del\u007f"}, "location", "U+007F"),
    ):
        refused = await client.post(f"/api/posts/{post_id}/publish", headers=bearer(token),
                                    json={"caption": "fine", **fields})
        error = assert_error(refused, 422, "invalid_field")
        assert error["message"].startswith(f"{field}:") and found in error["message"]
    # nothing was stored: the upload still publishes, keeping line breaks where text has lines
    published = await publish(client, token, post_id, caption="one\r\ntwo\t#three",
                              alt_text="a\nb", location="Brighton")
    assert (published["caption"], published["alt_text"], published["hashtags"]) == (
        "one\r\ntwo\t#three", "a\nb", ["three"])


async def test_media_origin_headers_etag_and_ranges(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    post = await post_photo(client, token, images.jpeg(800, 600))
    url = post["variants"]["640"]["jpeg"]
    full = await client.get(url)
    assert full.status_code == 200
    headers = full.headers
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"] == "default-src 'none'"
    etag = headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert etag == f'"{hashlib.sha256(full.content).hexdigest()}"'
    size = len(full.content)
    assert int(headers["content-length"]) == size

    cached = await client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b"" and cached.headers["etag"] == etag
    assert (await client.get(url, headers={"If-None-Match": '"other"'})).status_code == 200

    part = await client.get(url, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206 and part.content == full.content[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{size}"
    tail = await client.get(url, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.content == full.content[-50:]
    open_end = await client.get(url, headers={"Range": f"bytes={size - 5}-"})
    assert open_end.content == full.content[-5:]
    past = await client.get(url, headers={"Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"

    # httpx resolves a literal "/media/../x" to "/x" before sending: dot segments go encoded
    for bad in ("/media/o/" + post["post_id"], "/media/%2e%2e/metadata.db",
                "/media/..%2fmetadata.db", "/media/p/%2e%2e/x",
                "/media/p/" + post["post_id"] + "/guess/1080.webp", "/media/signing.key"):
        assert (await client.get(bad)).status_code == 404, bad


async def test_orientation_applied_and_metadata_stripped(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    data = images.jpeg(4000, 3000, orientation=6, gps=True, camera=True)
    post = await post_photo(client, token, data)
    assert post["status"] == "ready", post
    assert post["height"] == 1350 and abs(post["width"] - 1012.5) <= 0.5  # portrait after rotation
    assert post["taken_at"] == "2024-05-01T12:30:00Z"
    assert post["camera"] == {"make": "Pixtrio Optics", "model": "Model P-1"}
    for urls in post["variants"].values():
        for url in urls.values():
            served = (await client.get(url)).content
            # GPS tags are binary, so the camera's make (a string in the same EXIF) stands in
            assert b"Exif\x00\x00" not in served and b"Pixtrio Optics" not in served
            image = decode(served)
            assert image.height > image.width
            assert not {"exif-data", "xmp-data", "iptc-data"} & set(image.get_fields())


async def test_visibility_of_processing_and_failed_posts(client: httpx.AsyncClient) -> None:
    token, me = await register(client)
    other_token, _ = await register(client)
    truncated = images.jpeg(1200, 900)[:5000]
    post_id, _ = await upload(client, token, truncated)
    await publish(client, token, post_id)
    post = await settled(client, token, post_id)
    assert post["status"] == "failed" and post["failure_reason"]
    assert_error(await client.get(f"/api/posts/{post_id}", headers=bearer(other_token)), 404)
    assert_error(await client.get(f"/api/posts/{post_id}"), 404)
    mine = (await client.get(f"/api/users/{me['username']}/posts", headers=bearer(token))).json()
    assert [p["status"] for p in mine["posts"]] == ["failed"]
    theirs = (await client.get(f"/api/users/{me['username']}/posts", headers=bearer(other_token))).json()
    assert theirs["posts"] == []
    assert (await client.get(f"/api/users/{me['username']}")).json()["posts_count"] == 0


async def test_posts_page_newest_first(client: httpx.AsyncClient) -> None:
    token, me = await register(client)
    made = [await post_photo(client, token, images.jpeg(200 + n, 150)) for n in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"/api/users/{me['username']}/posts", params=params)).json()
        seen += [p["post_id"] for p in page["posts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [p["post_id"] for p in reversed(made)]


async def test_delete_removes_everything(client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    token, me = await register(client)
    other_token, _ = await register(client)
    post = await post_photo(client, token, images.jpeg(900, 900))
    urls = [url for urls in post["variants"].values() for url in urls.values()]
    original = live_server.data_dir / "media" / "o" / post["post_id"]
    assert original.exists()
    assert_error(await client.delete(f"/api/posts/{post['post_id']}", headers=bearer(other_token)), 403)
    assert (await client.delete(f"/api/posts/{post['post_id']}", headers=bearer(token))).status_code == 204
    assert_error(await client.get(f"/api/posts/{post['post_id']}", headers=bearer(token)), 404)
    for url in urls:
        assert (await client.get(url)).status_code == 404
    assert not original.exists()
    assert (await client.get(f"/api/users/{me['username']}")).json()["posts_count"] == 0
    assert_error(await client.delete(f"/api/posts/{post['post_id']}", headers=bearer(token)), 404)


async def test_avatar(client: httpx.AsyncClient) -> None:
    token, _ = await register(client)
    first = await client.put("/api/me/avatar", headers=bearer(token), content=images.png(500, 300))
    assert first.status_code == 200, first.text
    pic = first.json()["profile_pic"]
    assert pic and pic.endswith(".jpeg")
    served = await client.get(pic)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    image = decode(served.content)
    assert (image.width, image.height) == (320, 320)
    second = await client.put("/api/me/avatar", headers=bearer(token),
                              content=images.jpeg(300, 600, orientation=6, gps=True, camera=True))
    assert second.status_code == 200
    assert second.json()["profile_pic"] != pic
    assert (await client.get(pic)).status_code == 404, "the old avatar is gone"
    served_second = (await client.get(second.json()["profile_pic"])).content
    assert b"Exif\x00\x00" not in served_second and b"Pixtrio Optics" not in served_second
    assert_error(await client.put("/api/me/avatar", content=images.png(10, 10)), 401)
    assert_error(await client.put("/api/me/avatar", headers=bearer(token), content=images.SVG), 415)


async def test_worker_killed_mid_job_is_retried(data_dir: Path) -> None:
    env = {"PIXTRIO_MEDIA_JOB_TIMEOUT": "20", "PIXTRIO_MEDIA_VISIBILITY_TIMEOUT": "21",
           "PIXTRIO_MEDIA_WORKERS": "1"}
    with ServerProcess(data_dir, env=env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            token, _ = await register(client)
            post_id, _ = await upload(client, token, images.jpeg(6000, 4000))
            await publish(client, token, post_id)
            killed = await kill_media_workers(server)
            assert killed, "a worker process was running the job"
            post = await settled(client, token, post_id, within=120)
            assert post["status"] == "ready", post
    assert any("attempt 1 failed" in e.get("msg", "") for e in server.log_entries())


async def kill_media_workers(server: ServerProcess) -> int:
    """SIGKILL the server's worker processes once one is busy; how many were killed."""
    with trio.fail_after(30):
        while not server.worker_pids():  # noqa: ASYNC110 - another process's state: nothing to await
            await trio.sleep(0.05)
    await trio.sleep(0.3)  # let it get into the decode
    pids = server.worker_pids()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    return len(pids)


async def test_job_failing_every_attempt_marks_the_post_failed(data_dir: Path) -> None:
    """A job whose every attempt times out is retried, then given up after three attempts."""
    env = {"PIXTRIO_MEDIA_JOB_TIMEOUT": "0.01", "PIXTRIO_MEDIA_VISIBILITY_TIMEOUT": "0.5",
           "PIXTRIO_MEDIA_WORKERS": "1"}
    with ServerProcess(data_dir, env=env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            token, _ = await register(client)
            post_id, _ = await upload(client, token, images.jpeg(2000, 1500))
            await publish(client, token, post_id)
            post = await settled(client, token, post_id, within=60)
            assert post["status"] == "failed"
            assert post["failure_reason"].startswith("processing failed 3 times")
            original = server.data_dir / "media" / "o" / post_id
            assert original.exists(), "a failure never deletes the original"
    attempts = [e["msg"] for e in server.log_entries() if "attempt" in e.get("msg", "")]
    assert len(attempts) == 3, attempts
