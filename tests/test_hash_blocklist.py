"""The perceptual-hash blocklist: the matcher's threshold, PDQ's robustness with the
entries' rotations, mirrors and crops, the false-positive rate on unrelated photos, and the
service on a real store, Valkey and worker pool (two services standing for two processes)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import trio
from PIL import Image

from pixtrio.actors.worker_pool import WorkerPool, open_worker_pool
from pixtrio.codecs.pdq import PdqHashes
from pixtrio.codecs.photos import configure_worker, hash_photo, process_photo
from pixtrio.features.errors import InvalidField, NotFound
from pixtrio.features.ids import MAX_WORKER, IdGenerator
from pixtrio.features.safety.hash_blocklist import BLOCKED, HashBlocklist
from pixtrio.features.safety.hash_index import MATCH_DISTANCE, HashIndex
from pixtrio.storage.blobs.filesystem import FilesystemBlobStore
from pixtrio.storage.redis.blocklist_version import BlocklistVersion
from pixtrio.storage.redis.client import Redis
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import Post
from pixtrio.testing.valkey import valkey_client
from tests.support.images import encoded, scene

BLOCKED_SEEDS = (0, 5, 7)
"""Scenes with enough detail (PDQ quality >= 50) to be blocklist entries."""
UNRELATED = range(1000, 1300)
T0 = datetime(2026, 1, 1, tzinfo=UTC)
Parts = tuple[SqliteStore, Redis]


def flipped(pdq: str, bits: list[int]) -> str:
    value = int(pdq, 16)
    for bit in bits:
        value ^= 1 << bit
    return f"{value:064x}"


# the matcher

def test_distance_31_matches_and_32_does_not() -> None:
    rng = random.Random(1)
    base = f"{rng.getrandbits(256):064x}"
    index = HashIndex.build([(7, base), (8, f"{rng.getrandbits(256):064x}")])
    for spread in (range(256), range(128), range(128, 256)):  # all words, first two, last two
        bits = rng.sample(list(spread), 32)
        hit = index.nearest(flipped(base, bits[:MATCH_DISTANCE]))
        assert hit is not None and (hit.owner, hit.distance) == (7, 31)
        assert index.nearest(flipped(base, bits)) is None
    assert index.nearest(base) == index.nearest(base.upper())
    assert index.nearest(f"{~int(base, 16) & (2**256 - 1):064x}") is None  # every bit differs


def test_the_nearest_entry_wins() -> None:
    base = "0f" * 32
    index = HashIndex.build([(1, flipped(base, [0, 1, 2, 3, 4])), (2, flipped(base, [9, 200])),
                             (3, flipped(base, list(range(20))))])
    hit = index.nearest(base)
    assert hit is not None and (hit.owner, hit.distance) == (2, 2)
    assert HashIndex.build([]).nearest(base) is None
    with pytest.raises(ValueError):
        index.nearest("0f" * 31)
    with pytest.raises(ValueError):
        HashIndex.build([(1, "0f" * 33)])


# PDQ through the photo pipeline

def uploaded(tmp_path: Path, image: Image.Image, name: str, **options: int) -> PdqHashes:
    """The hashes the media worker gets for `image` uploaded as a JPEG."""
    source = tmp_path / f"{name}.jpeg"
    source.write_bytes(encoded(image, quality=options.get("quality", 90)))
    return process_photo(str(source), str(tmp_path / name), avif=False).pdq


def entry_index(tmp_path: Path, seeds: tuple[int, ...]) -> HashIndex:
    """The index of blocklist entries made from the scenes of `seeds` (owner = seed)."""
    rows = []
    for seed in seeds:
        source = tmp_path / f"blocked-{seed}.jpeg"
        source.write_bytes(encoded(scene(seed, 1200, 900), quality=92))
        hashes = hash_photo(str(source))
        assert hashes is not None and hashes.quality >= 50
        rows += [(seed, pdq) for pdq in (*hashes.dihedral, *hashes.crops)]
    return HashIndex.build(rows)


def copies(image: Image.Image) -> dict[str, tuple[Image.Image, int]]:
    """Altered copies of `image` that must still be refused, with their JPEG quality."""
    w, h = image.size

    def cut(left: float, top: float, right: float, bottom: float) -> Image.Image:
        return image.crop((round(w * left), round(h * top), round(w * (1 - right)),
                           round(h * (1 - bottom))))

    mirror = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return {
        "resized to a third": (image.resize((w // 3, h // 3), Image.Resampling.LANCZOS), 90),
        "recompressed at q=40": (image, 40),
        "cut 5 % on every side": (cut(0.05, 0.05, 0.05, 0.05), 90),
        "cut 5 % on the left": (cut(0.05, 0, 0, 0), 90),
        "cut 3 % top, 5 % right": (cut(0, 0.03, 0.05, 0), 90),
        "cut 1-4 % unevenly": (cut(0.01, 0.04, 0.03, 0.02), 90),
        "mirrored": (mirror, 90),
        "mirrored, cut 4 % and recompressed": (
            mirror.crop((round(w * 0.04), 0, w, round(h * 0.96))), 40),
        "rotated a quarter turn": (image.transpose(Image.Transpose.ROTATE_90), 90),
    }


@pytest.mark.parametrize("seed", BLOCKED_SEEDS)
def test_altered_copies_of_a_blocked_image_match(tmp_path: Path, seed: int) -> None:
    index = entry_index(tmp_path, (seed,))
    for name, (image, quality) in copies(scene(seed, 1200, 900)).items():
        hit = index.nearest(uploaded(tmp_path, image, "copy", quality=quality).pdq)
        assert hit is not None and hit.owner == seed, name


def test_unrelated_photos_pass(tmp_path: Path) -> None:
    """The false-positive rate over 300 generated photos against three entries (with their
    480 crop and dihedral hashes): 0 matches."""
    index = entry_index(tmp_path, BLOCKED_SEEDS)
    matched, nearest = [], 256
    for seed in UNRELATED:
        pdq = uploaded(tmp_path, scene(seed, 320, 240), "unrelated").pdq
        if index.nearest(pdq) is not None:
            matched.append(seed)
        nearest = min(nearest, min(bin(int(pdq, 16) ^ int(row, 16)).count("1")
                                   for row in index_rows(index)))
    print(f"false positives: {len(matched)}/{len(UNRELATED)}; nearest unrelated hash: "
          f"{nearest} bits")
    assert matched == []


def index_rows(index: HashIndex) -> list[str]:
    words = index._words.T.copy()  # noqa: SLF001 - the test reads the rows back
    return [row.tobytes().hex() for row in words]


# the service

@pytest.fixture
async def pool() -> AsyncIterator[WorkerPool]:
    async with open_worker_pool(size=1, time_limit=60,
                                init=partial(configure_worker, 2 << 30)) as workers:
        yield workers


@pytest.fixture
async def parts(tmp_path: Path, pool: WorkerPool) -> AsyncIterator[Parts]:
    store = await SqliteStore.open(tmp_path / "meta.db")
    try:
        async with valkey_client(tmp_path / "valkey") as redis:
            yield store, redis
    finally:
        await store.aclose()


def service(parts: Parts, pool: WorkerPool, tmp_path: Path,
            worker: int) -> HashBlocklist:
    """A blocklist service as one process has it: its own matcher, the shared stores."""
    store, redis = parts
    return HashBlocklist(store, IdGenerator(worker), BlocklistVersion(redis),
                         FilesystemBlobStore(tmp_path / "media"), pool)


def jpeg_of(seed: int, size: tuple[int, int] = (1200, 900), **options: int) -> bytes:
    return encoded(scene(seed, *size), quality=options.get("quality", 90))


async def test_bad_entries_are_refused(parts: Parts, pool: WorkerPool,
                                       tmp_path: Path) -> None:
    blocklist = service(parts, pool, tmp_path, MAX_WORKER)
    with trio.fail_after(60):
        for pdq in ("a" * 63, "a" * 65, "g" * 64, " " + "a" * 63, ""):
            with pytest.raises(InvalidField) as bad:
                await blocklist.add_pdq(pdq, added_by=1)
            assert bad.value.field == "pdq"
        flat = encoded(Image.new("RGB", (800, 600), (90, 120, 200)))
        tiny = encoded(scene(0, 48, 48))
        for image, code in ((flat, "low_quality"), (tiny, "low_quality"),
                            (b"not an image at all", "invalid_image")):
            with pytest.raises(InvalidField) as bad:
                await blocklist.add_image(image, added_by=1)
            assert (bad.value.field, bad.value.code) == ("image", code)
        assert (await blocklist.list(before=None, limit=10)).items == []


async def test_entries_are_added_listed_and_removed(parts: Parts,
                                                    pool: WorkerPool, tmp_path: Path) -> None:
    blocklist = service(parts, pool, tmp_path, MAX_WORKER)
    with trio.fail_after(60):
        image = await blocklist.add_image(jpeg_of(0), added_by=3, note="spam wave")
        assert (image.source, image.added_by, image.note) == ("image", 3, "spam wave")
        assert len(image.variants) == 7 + 160
        bare = await blocklist.add_pdq("AB" * 32, added_by=3)
        assert (bare.pdq, bare.variants, bare.source) == ("ab" * 32, (), "pdq")
        first = await blocklist.list(before=None, limit=1)
        assert first.items == [bare] and first.next_position is not None
        assert (await blocklist.list(before=first.next_position, limit=1)).items == [image]
        await blocklist.remove(bare.block_id)
        with pytest.raises(NotFound):
            await blocklist.remove(bare.block_id)
        assert (await blocklist.list(before=None, limit=10)).items == [image]


async def test_changes_reach_another_process_at_its_next_check(
        parts: Parts, pool: WorkerPool, tmp_path: Path) -> None:
    here, there = (service(parts, pool, tmp_path, w) for w in (MAX_WORKER, MAX_WORKER - 1))
    store, _ = parts
    mirrored = uploaded(tmp_path, scene(5, 1200, 900).transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                        "mirrored")
    with trio.fail_after(60):
        assert await there.check(mirrored, user_id=9, post_id=None) is None  # loaded, empty
        entry = await here.add_image(jpeg_of(5), added_by=3)
        hit = await there.check(mirrored, user_id=9, post_id=None)
        assert hit is not None and hit.owner == entry.block_id
        recorded = (await store.list_hash_matches(before=None, limit=10)).items
        assert [(m.block_id, m.user_id, m.post_id, m.distance) for m in recorded] == \
            [(entry.block_id, 9, None, hit.distance)]
        await here.remove(entry.block_id)
        assert await there.check(mirrored, user_id=9, post_id=None) is None


async def test_a_post_is_screened_and_its_hash_added_after_it_is_gone(
        parts: Parts, pool: WorkerPool, tmp_path: Path) -> None:
    blocklist = service(parts, pool, tmp_path, MAX_WORKER)
    store, _ = parts
    photo = uploaded(tmp_path, scene(7, 1200, 900), "photo")
    first = Post(post_id=101, author_id=9, kind="photo", status="processing",
                 created_at=T0)
    again = Post(post_id=102, author_id=9, kind="photo", status="processing",
                 created_at=T0)
    with trio.fail_after(60):
        for post in (first, again):
            await store.create_post(post)
        with pytest.raises(NotFound):
            await blocklist.add_from_post(first.post_id, added_by=3)
        assert not await blocklist.screen_post(first, photo)
        await store.delete_post(first.post_id)  # a moderator removed it
        entry = await blocklist.add_from_post(first.post_id, added_by=3)
        assert (entry.source, entry.post_id, entry.pdq) == ("post", first.post_id, photo.pdq)
        assert await blocklist.screen_post(again, photo)
        failed = await store.get_post(again.post_id)
        assert failed is not None and (failed.status, failed.failure_reason) == ("failed", BLOCKED)
        match = (await store.list_hash_matches(before=None, limit=1)).items[0]
        assert (match.post_id, match.block_id, match.distance) == (again.post_id, entry.block_id, 0)
