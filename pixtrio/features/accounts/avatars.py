"""Profile pictures: square crops made in a worker process, served like post media."""

from __future__ import annotations

from collections.abc import AsyncIterator

from pixtrio.actors.worker_pool import WorkerPool
from pixtrio.codecs.photos import MediaRejected, make_avatar
from pixtrio.features.errors import InvalidField, NotAuthenticated, Unsupported
from pixtrio.features.ids import IdGenerator
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.renditions import scratch_dir, store_renditions
from pixtrio.features.posts.staging import stage_body
from pixtrio.features.safety.hash_blocklist import BLOCKED, HashBlocklist
from pixtrio.features.views import author_card
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.session_tokens import SessionTokens
from pixtrio.storage.types import User

PROFILE_PIC = ("320", "jpeg")  # the rendition `profile_pic` points at


class AvatarService:
    def __init__(
        self,
        store: MetadataStore,
        blobs: BlobStore,
        pool: WorkerPool,
        media_keys: MediaKeys,
        ids: IdGenerator,
        session_tokens: SessionTokens,
        cards: AuthorCards,
        blocklist: HashBlocklist,
        *,
        max_bytes: int,
    ) -> None:
        self._blocklist = blocklist
        self._store = store
        self._session_tokens = session_tokens
        self._cards = cards
        self._blobs = blobs
        self._pool = pool
        self._keys = media_keys
        self._ids = ids
        self.max_bytes = max_bytes

    async def replace(self, user: User, body: AsyncIterator[bytes]) -> User:
        """Make and store the new avatar's renditions, then point `profile_pic` at them.

        Raises 413 (too big), 415 (not an image), 422 (an image libvips cannot use, or
        code `blocked`: one on the hash blocklist, the match recorded for moderators).
        The previous avatar's files are deleted once the profile points at the new ones.
        """
        async with scratch_dir(self._blobs, f"avatar-{user.user_id}-") as workdir:
            staged = await stage_body(body, workdir / "original", max_bytes=self.max_bytes)
            if staged.sniffed_type is None or not staged.sniffed_type.startswith("image/"):
                raise Unsupported("send the raw bytes of a JPEG, PNG, WebP, HEIC/HEIF or GIF image")
            try:
                renditions, hashes = await self._pool.run(make_avatar, str(workdir / "original"), str(workdir))
            except MediaRejected as exc:
                raise InvalidField("image", f"{exc.reason}", code="invalid_image") from None
            if await self._blocklist.check(hashes, user_id=user.user_id, post_id=None):
                raise InvalidField("image", "this image may not be used", code=BLOCKED)
            version = self._ids.next_id()
            keys = await store_renditions(
                self._blobs, workdir, renditions,
                lambda name: self._keys.avatar_file(user.user_id, version, name),
            )
        size, fmt = PROFILE_PIC
        updated = await self._store.update_profile(
            user.user_id, profile_pic=self._keys.url(keys[size][fmt])
        )
        if updated is None:
            raise NotAuthenticated("this account no longer exists")
        await self._session_tokens.drop_user(user.user_id)
        await self._cards.changed(user.user_id, author_card(updated))
        if user.profile_pic:
            old = self._keys.key_of(user.profile_pic)
            if old is not None:
                await self._blobs.delete_prefix(old.rsplit("/", 1)[0])
        return updated
