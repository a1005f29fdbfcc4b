"""Account deletion's durable job: everything a deleted account made, removed.

`AccountService.delete_account` removes the account's record and tokens at once and
queues this job (the "accounts" queue, keyed by user id). The job removes, in order, its
posts (with their media, likes and comments), its comments, its likes, its follows both
ways (with the other side's counters and timelines), its Redis keys (timeline, sets,
event stream, cached sign-ins) and its avatars. Every step is idempotent and reads what
is left from the store, so a job cut short by a crash is reclaimed and finishes the rest.
"""

from __future__ import annotations

import logging

import trio

from pixtrio.features.accounts.revocation import Revocations
from pixtrio.features.comments.service import CommentService
from pixtrio.features.graph.service import GraphService
from pixtrio.features.likes.service import LikeService
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.posts.service import VISIBLE_TO_AUTHOR, PostService
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.redis.jobs import Job
from pixtrio.storage.redis.session_tokens import SessionTokens

log = logging.getLogger("pixtrio.accounts")

BATCH = 100
"""Posts or comments read from the store at a time."""
RECORD_CHECKS = 100
RECORD_POLL_S = 0.1
"""A job looks this often, this many times (10 s), for the request that queued it to
remove the account's record."""


class AccountStillExists(Exception):
    """The account's record is still there: its deletion did not (yet) happen."""


class AccountDeletion:
    """The `JobHandler` of the "accounts" queue."""

    def __init__(self, store: MetadataStore, posts: PostService, comments: CommentService,
                 likes: LikeService, graph: GraphService, revocations: Revocations,
                 events: EventStreams, session_tokens: SessionTokens, blobs: BlobStore,
                 media_keys: MediaKeys) -> None:
        self._store = store
        self._posts = posts
        self._comments = comments
        self._likes = likes
        self._graph = graph
        self._revocations = revocations
        self._events = events
        self._session_tokens = session_tokens
        self._blobs = blobs
        self._keys = media_keys

    async def handle(self, job: Job) -> None:
        """Remove everything of the account `job.key`. Raises `AccountStillExists` (so
        the job is retried, and given up after a few tries) while the account's record
        is there: the job is queued just before the record is removed."""
        user_id = int(job.key)
        for _ in range(RECORD_CHECKS):
            if await self._store.get_user(user_id) is None:
                break
            await trio.sleep(RECORD_POLL_S)
        else:
            raise AccountStillExists(f"account {user_id} is still there")
        await self.purge(user_id)
        log.info("account %d deleted", user_id)

    async def give_up(self, job: Job, reason: str) -> None:
        log.error("deleting account %s given up: %s", job.key, reason)

    async def purge(self, user_id: int) -> None:
        """Remove what is left of the deleted account `user_id`; idempotent."""
        await self._revocations.revoke_all(user_id)
        while posts := (await self._store.list_posts_by_author(
                user_id, statuses=VISIBLE_TO_AUTHOR, before=None, limit=BATCH)).items:
            for post in posts:
                await self._posts.remove(post)
        while comments := await self._store.comments_by_author(user_id, limit=BATCH):
            for comment in comments:
                await self._comments.remove(comment)
        await self._likes.forget_user(user_id)
        await self._graph.remove_follows(user_id)
        await self._events.drop(user_id)
        await self._session_tokens.drop_user(user_id)
        await self._blobs.delete_prefix(self._keys.avatar_root(user_id))
