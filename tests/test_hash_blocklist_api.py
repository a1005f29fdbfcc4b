"""The hash blocklist through the API: a server whose media worker checks every photo,
video poster and avatar, while the entries are added from another process (this one)
sharing its metadata store and Redis, as a moderator's server would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
from PIL import Image

from pixtrio.actors.worker_pool import open_worker_pool
from pixtrio.codecs.photos import configure_worker
from pixtrio.features.ids import MAX_WORKER, IdGenerator
from pixtrio.features.safety.hash_blocklist import HashBlocklist
from pixtrio.storage.blobs.filesystem import FilesystemBlobStore
from pixtrio.storage.redis.blocklist_version import BlocklistVersion
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.testing.server_process import ServerProcess, wait_until
from pixtrio.testing.valkey import external_valkey
from tests.support.api import assert_error, bearer, register, staff
from tests.support.images import encoded, scene
from tests.support.posts import post_photo, publish, settled, upload
from tests.support.videos import ffmpeg

BLOCKED_SEED = 5


@dataclass
class Setup:
    client: httpx.AsyncClient
    blocklist: HashBlocklist
    """This process's service, on the server's store and Redis."""
    store: SqliteStore
    tmp_path: Path


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    async with external_valkey(tmp_path / "valkey") as valkey:
        with ServerProcess(tmp_path / "data", env={"PIXTRIO_REDIS_URL": valkey.url}) as server:
            store = await SqliteStore.open(tmp_path / "data" / "metadata.db")
            try:
                async with open_redis(RedisAddress(url=valkey.url)) as redis, \
                        open_worker_pool(size=1, time_limit=60,
                                         init=partial(configure_worker, 2 << 30)) as pool, \
                        httpx.AsyncClient(base_url=server.url, timeout=30) as client:
                    blocklist = HashBlocklist(store, IdGenerator(MAX_WORKER),
                                              BlocklistVersion(redis),
                                              FilesystemBlobStore(tmp_path / "media"), pool)
                    yield Setup(client, blocklist, store, tmp_path)
            finally:
                await store.aclose()


def blocked_copy() -> bytes:
    """The blocked image as someone reposts it: mirrored, cut 3 % on a side, recompressed."""
    image = scene(BLOCKED_SEED, 1200, 900).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return encoded(image.crop((36, 0, 1200, 900)), quality=60)


async def feed_ids(client: httpx.AsyncClient, token: str) -> list[str]:
    answer = await client.get("/api/feed", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return [p["post_id"] for p in answer.json()["posts"]]


async def test_a_blocked_photo_fails_and_an_unrelated_one_is_published(setup: Setup) -> None:
    client = setup.client
    with trio.fail_after(180):
        entry = await setup.blocklist.add_image(encoded(scene(BLOCKED_SEED, 1200, 900)),
                                                added_by=None)
        author_token, author = await register(client)
        fan_token, _ = await register(client)
        follow = await client.post(f"/api/users/{author['username']}/follow",
                                   headers=bearer(fan_token))
        assert follow.status_code == 200, follow.text

        blocked = await post_photo(client, author_token, blocked_copy())
        assert (blocked["status"], blocked["failure_reason"]) == ("failed", "blocked")
        assert blocked["media_url"] is None
        fine = await post_photo(client, author_token, encoded(scene(1234, 1200, 900)))
        assert fine["status"] == "ready"

        async def fanned_out() -> bool:
            return fine["post_id"] in await feed_ids(client, fan_token)

        await wait_until(fanned_out, "the unrelated post in the follower's feed")
        assert blocked["post_id"] not in await feed_ids(client, fan_token)
        assert blocked["post_id"] not in await feed_ids(client, author_token)
        listed = await client.get(f"/api/users/{author['username']}/posts")
        assert [p["post_id"] for p in listed.json()["posts"]] == [fine["post_id"]]

        matches = (await setup.store.list_hash_matches(before=None, limit=10)).items
        assert [(str(m.post_id), m.block_id, m.user_id) for m in matches] == \
            [(blocked["post_id"], entry.block_id, int(author["user_id"]))]


async def test_a_published_post_is_blocked_in_one_call(setup: Setup) -> None:
    client = setup.client
    image = scene(77, 1000, 800)
    with trio.fail_after(180):
        token, _ = await register(client)
        first = await post_photo(client, token, encoded(image))
        assert first["status"] == "ready"
        await setup.blocklist.add_from_post(int(first["post_id"]), added_by=None)
        again = await post_photo(client, token, encoded(image.resize((500, 400)), quality=50))
        assert (again["status"], again["failure_reason"]) == ("failed", "blocked")


async def test_a_video_with_a_blocked_poster_fails(setup: Setup) -> None:
    client = setup.client
    still = setup.tmp_path / "blocked.png"
    still.write_bytes(encoded(scene(BLOCKED_SEED, 1200, 900).resize((640, 480)), "PNG"))
    video = setup.tmp_path / "blocked.mp4"
    ffmpeg("-loop", "1", "-i", str(still), "-t", "2", "-r", "15", "-c:v", "libx264",
           "-pix_fmt", "yuv420p", str(video))
    with trio.fail_after(240):
        await setup.blocklist.add_image(encoded(scene(BLOCKED_SEED, 1200, 900)), added_by=None)
        token, _ = await register(client)
        post_id, _ = await upload(client, token, video.read_bytes(), "video/mp4")
        await publish(client, token, post_id)
        post = await settled(client, token, post_id, within=200)
        assert (post["status"], post["failure_reason"]) == ("failed", "blocked")


async def test_a_blocked_avatar_is_refused(setup: Setup) -> None:
    client = setup.client
    with trio.fail_after(120):
        square = scene(BLOCKED_SEED, 900, 900)
        await setup.blocklist.add_image(encoded(square), added_by=None)
        token, me = await register(client)
        refused = await client.put("/api/me/avatar", headers={**bearer(token),
                                   "Content-Type": "image/jpeg"},
                                   content=encoded(square.resize((600, 600)), quality=70))
        assert_error(refused, 422, "blocked")
        assert (await client.get("/api/me", headers=bearer(token))).json()["profile_pic"] is None
        fine = await client.put("/api/me/avatar", headers={**bearer(token),
                                "Content-Type": "image/jpeg"},
                                content=encoded(scene(4321, 600, 600)))
        assert fine.status_code == 200, fine.text
        matches = (await setup.store.list_hash_matches(before=None, limit=10)).items
        assert [(m.post_id, m.user_id) for m in matches] == [(None, int(me["user_id"]))]


async def test_moderators_manage_the_blocklist_through_the_api(setup: Setup) -> None:
    """Only moderators reach the routes; an image, a bare hash or a post becomes an entry,
    a refused upload is listed with its entry, and removing the entry lets a copy through.
    Every change is in the audit log."""
    client = setup.client
    with trio.fail_after(240):
        user_token, _ = await register(client)
        refused = await client.post("/api/mod/hash-blocklist", headers=bearer(user_token),
                                    json={"pdq": "0" * 64})
        assert_error(refused, 403, "forbidden")
        mod_token, _ = await staff(client, setup.tmp_path / "data")
        mod = bearer(mod_token)
        for bad in ({"pdq": "xyz"}, {"pdq": "0" * 64, "post_id": "1"}, {}, {"pdq": 5},
                    {"pdq": "0" * 64, "note": "\x00"}):
            assert_error(await client.post("/api/mod/hash-blocklist", headers=mod, json=bad), 422)
        assert_error(await client.post("/api/mod/hash-blocklist", headers=mod,
                                       json={"post_id": "12345"}), 404)
        not_image = await client.post("/api/mod/hash-blocklist", headers=mod, content=b"plain",
                                      params={"note": "x"})
        assert_error(not_image, 422, "invalid_image")

        image = await client.post("/api/mod/hash-blocklist", headers=mod, params={"note": "csam"},
                                  content=encoded(scene(BLOCKED_SEED, 800, 600), quality=80))
        assert image.status_code == 201, image.text
        entry = image.json()
        assert (entry["source"], entry["note"], len(entry["pdq"])) == ("image", "csam", 64)
        bare = await client.post("/api/mod/hash-blocklist", headers=mod, json={"pdq": "F" * 64})
        assert bare.status_code == 201 and bare.json()["pdq"] == "f" * 64

        listed = await client.get("/api/mod/hash-blocklist", headers=mod, params={"limit": 1})
        assert [e["block_id"] for e in listed.json()["entries"]] == [bare.json()["block_id"]]
        rest = await client.get("/api/mod/hash-blocklist", headers=mod,
                                params={"cursor": listed.json()["next_cursor"]})
        assert [e["block_id"] for e in rest.json()["entries"]] == [entry["block_id"]]

        author_token, author = await register(client)
        blocked = await post_photo(client, author_token, blocked_copy())
        assert (blocked["status"], blocked["failure_reason"]) == ("failed", "blocked")
        matches = (await client.get("/api/mod/hash-matches", headers=mod)).json()["matches"]
        assert [(m["post_id"], m["block_id"], m["user_id"]) for m in matches] == [
            (blocked["post_id"], entry["block_id"], author["user_id"])]

        other = await post_photo(client, author_token, encoded(scene(91, 900, 700)))
        assert other["status"] == "ready"
        from_post = await client.post("/api/mod/hash-blocklist", headers=mod,
                                      json={"post_id": other["post_id"]})
        assert from_post.status_code == 201 and from_post.json()["post_id"] == other["post_id"]

        assert (await client.delete(f"/api/mod/hash-blocklist/{entry['block_id']}",
                                    headers=mod)).status_code == 204
        assert_error(await client.delete(f"/api/mod/hash-blocklist/{entry['block_id']}",
                                         headers=mod), 404)
        assert_error(await client.delete("/api/mod/hash-blocklist/１２", headers=mod), 404)
        allowed = await post_photo(client, author_token, blocked_copy())
        assert allowed["status"] == "ready"

        actions = (await client.get("/api/mod/audit", headers=mod)).json()["actions"]
        assert [a["action"] for a in actions[:4]] == ["hash.unblock", "hash.block", "hash.block",
                                                       "hash.block"]
