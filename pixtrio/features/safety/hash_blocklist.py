"""The perceptual-hash blocklist: moderators add images, bare PDQ hashes or a post's hash;
every photo, video poster and avatar is checked against it before it is published.

Entries live in the metadata store. Each process matches against its own `HashIndex`,
built from every entry, and rebuilt when the blocklist's version in Redis (bumped after
each change, on any process) differs from the one it was built at: a change is seen by
the next check everywhere.

An entry made from an image is indexed with the hashes of its rotations, mirrors and
slight crops, one from a post with those of its rotations and mirrors (see `codecs.pdq`);
an entry added as a bare hash matches copies in that one orientation only.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import trio

from pixtrio.actors.worker_pool import WorkerPool
from pixtrio.codecs.pdq import MIN_QUALITY, MIN_SIDE, PdqHashes
from pixtrio.codecs.photos import MediaRejected, hash_photo
from pixtrio.features.errors import InvalidField, NotFound
from pixtrio.features.ids import IdGenerator
from pixtrio.features.media.renditions import scratch_dir
from pixtrio.features.safety.hash_index import HashIndex, Hit
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.blocklist_version import BlocklistVersion
from pixtrio.storage.types import HashBlock, HashMatch, HashSource, Page, Post, PostHashes

log = logging.getLogger("pixtrio.safety")

BLOCKED = "blocked"
"""The failure reason of a post refused by the blocklist, and the error code of an avatar."""

_PDQ_HEX = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class _Loaded:
    version: int
    index: HashIndex


class HashBlocklist:
    """One per process; `check` may run from many tasks at once."""

    def __init__(self, store: MetadataStore, ids: IdGenerator, version: BlocklistVersion,
                 blobs: BlobStore, pool: WorkerPool) -> None:
        self._store = store
        self._ids = ids
        self._version = version
        self._blobs = blobs
        self._pool = pool
        self._loaded = _Loaded(-1, HashIndex.build([]))
        self._reload_lock = trio.Lock()

    # checking uploads

    async def check(self, hashes: PdqHashes, *, user_id: int, post_id: int | None) -> Hit | None:
        """The blocklist entry `hashes` (of an upload as it is) matches, or None. A match is
        recorded for moderators (the uploader, the post or None for an avatar, the entry,
        the distance) and logged. Raises `StorageError` when Redis or the store fails."""
        index = await self._index()
        hit = await trio.to_thread.run_sync(index.nearest, hashes.pdq)
        if hit is None:
            return None
        await self._store.add_hash_match(HashMatch(
            self._ids.next_id(), block_id=hit.owner, distance=hit.distance, user_id=user_id,
            created_at=_now(), post_id=post_id))
        log.warning("blocklist entry %d matched (distance %d): user %d, %s", hit.owner,
                    hit.distance, user_id, f"post {post_id}" if post_id else "avatar")
        return hit

    async def screen_post(self, post: Post, hashes: PdqHashes) -> bool:
        """Keep the hashes of the post's photo or video poster (for `add_from_post`, even
        once the post is deleted); if they match the blocklist, mark the post failed with
        reason `blocked` and return True: the caller then publishes nothing. Safe to repeat
        (a retried job may record its match twice). Raises `StorageError`."""
        await self._store.keep_post_hashes(PostHashes(
            post.post_id, post.author_id, hashes.dihedral, hashes.quality, _now()))
        if await self.check(hashes, user_id=post.author_id, post_id=post.post_id) is None:
            return False
        await self._store.set_post_status(post.post_id, "failed", failure_reason=BLOCKED)
        return True

    async def _index(self) -> HashIndex:
        """The index at the current version, rebuilt first if it is behind. The version is
        read before the entries, so an index is never older than the version it claims; a
        rebuild cancelled midway leaves the previous index in place."""
        version = await self._version.current()
        if version != self._loaded.version:
            async with self._reload_lock:
                if version != self._loaded.version:
                    blocks = await self._store.all_hash_blocks()
                    index = await trio.to_thread.run_sync(_build, blocks)
                    self._loaded = _Loaded(version, index)
        return self._loaded.index

    # the moderators' verbs

    async def add_image(self, image: bytes, *, added_by: int | None, note: str = "") -> HashBlock:
        """Add an image (its raw bytes) with its rotations, mirrors and slight crops (see
        `codecs.pdq`; hashed in a media worker, about half a second). Raises
        `InvalidField("image")` if it is not a readable image (code `invalid_image`) or has
        too little detail to hash reliably (code `low_quality`: smaller than `MIN_SIDE` on
        a side, or PDQ quality below `MIN_QUALITY`)."""
        async with scratch_dir(self._blobs, "blocklist-") as workdir:
            source = workdir / "image"
            await trio.Path(source).write_bytes(image)
            try:
                hashes = await self._pool.run(hash_photo, str(source))
            except MediaRejected as exc:
                raise InvalidField("image", exc.reason, code="invalid_image") from None
        if hashes is None or hashes.quality < MIN_QUALITY:
            raise InvalidField("image", f"too little detail to match reliably: send a photo at "
                               f"least {MIN_SIDE} px on a side that is not nearly flat",
                               code="low_quality")
        return await self._add(hashes.pdq, hashes.dihedral[1:] + hashes.crops, "image",
                               added_by, note, None)

    async def add_pdq(self, pdq: str, *, added_by: int | None, note: str = "") -> HashBlock:
        """Add a bare PDQ hash (it matches copies in its own orientation only). Raises
        `InvalidField("pdq")` unless it is exactly 64 hex digits."""
        if not _PDQ_HEX.fullmatch(pdq):
            raise InvalidField("pdq", "a PDQ hash is exactly 64 hexadecimal digits")
        return await self._add(pdq.lower(), (), "pdq", added_by, note, None)

    async def add_from_post(self, post_id: int, *, added_by: int | None,
                            note: str = "") -> HashBlock:
        """Add the hashes kept of a post's photo or video poster, also of a post deleted
        since (its rotations and mirrors match; crops only of a percent or two, since the
        worker does not hash every upload's crops). Raises `NotFound` when no hashes were
        kept for `post_id` (no such post, or still processing, or unreadable)."""
        kept = await self._store.get_post_hashes(post_id)
        if kept is None:
            raise NotFound("no hashes are kept for this post")
        return await self._add(kept.dihedral[0], kept.dihedral[1:], "post", added_by, note,
                               post_id)

    async def list(self, *, before: int | None, limit: int) -> Page[HashBlock]:
        """Entries, newest first."""
        return await self._store.list_hash_blocks(before=before, limit=limit)

    async def matches(self, *, before: int | None, limit: int) -> Page[HashMatch]:
        """The uploads the blocklist refused, newest first."""
        return await self._store.list_hash_matches(before=before, limit=limit)

    async def remove(self, block_id: int) -> None:
        """Remove an entry; uploads stop matching it on every process. Raises `NotFound`."""
        if await self._store.remove_hash_block(block_id) is None:
            raise NotFound("no such blocklist entry")
        await self._version.bump()

    async def _add(self, pdq: str, variants: tuple[str, ...], source: HashSource, added_by: int | None,
                   note: str, post_id: int | None) -> HashBlock:
        block = HashBlock(self._ids.next_id(), pdq, source, _now(),
                          variants=variants, note=note, added_by=added_by, post_id=post_id)
        await self._store.add_hash_block(block)
        await self._version.bump()
        return block


def _now() -> datetime:
    """Now, to the millisecond the stores keep (an entry returned equals one listed)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _build(blocks: list[HashBlock]) -> HashIndex:
    """The index of every hash of `blocks`, each owned by its entry's id."""
    return HashIndex.build((b.block_id, pdq) for b in blocks for pdq in (b.pdq, *b.variants))
