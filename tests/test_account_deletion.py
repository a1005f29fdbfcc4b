"""The account deletion job resumes: cut short by a failure midway, its retry removes the
rest. Real services on a real SQLite store and a real Valkey; the store fails once, on
the second post it is asked to delete."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import trio

from pixtrio.actors.worker_pool import open_worker_pool
from pixtrio.config import Settings
from pixtrio.features.ids import IdGenerator
from pixtrio.runtime import build_services
from pixtrio.storage.errors import StorageError
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.client import open_redis
from pixtrio.storage.redis.jobs import Job
from pixtrio.storage.redis.lean import open_lean_redis
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import Post, User
from pixtrio.testing.valkey import valkey_server


class FailingOnce:
    """The store, except that one `delete_post` call (the `fail_at`-th) fails as if the
    process had lost the store midway."""

    def __init__(self, store: MetadataStore, fail_at: int) -> None:
        self._store = store
        self._fail_at = fail_at
        self.deletes = 0

    async def delete_post(self, post_id: int) -> Post | None:
        self.deletes += 1
        if self.deletes == self._fail_at:
            raise StorageError("sqlite: disk I/O error")
        return await self._store.delete_post(post_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


async def test_a_deletion_cut_short_is_finished_by_its_retry(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    store = await SqliteStore.open(tmp_path / "meta.db")
    failing = FailingOnce(store, fail_at=2)
    with trio.fail_after(60):
        async with valkey_server(tmp_path / "valkey") as address, open_redis(address) as redis, \
                open_lean_redis(address) as lean, \
                open_worker_pool(size=1, time_limit=30, init=int) as pool:
            services = build_services(settings, b"s" * 32, cast(MetadataStore, failing), redis,
                                      lean, "test", IdGenerator(1), pool)
            accounts = services.accounts
            doomed, _ = await accounts.register("doomed", "d@example.com", "password1", ip="::1")
            friend, _ = await accounts.register("friend", "f@example.com",
                                                           "password1", ip="::1")
            ids = services.ids
            now = datetime.now(UTC)
            mine = [Post(ids.next_id(), doomed.user_id, "photo", "ready", now) for _ in range(3)]
            theirs = Post(ids.next_id(), friend.user_id, "photo", "ready", now)
            for post in (*mine, theirs):
                await store.create_post(post)
                (settings.data_dir / "media" / "p" / str(post.post_id)).mkdir(parents=True)
                (settings.data_dir / "media" / "p" / str(post.post_id) / "1080.webp").write_bytes(b"x")
            await services.comments.create(doomed, theirs.post_id, "hello")
            await services.likes.like(doomed, theirs.post_id)
            await services.likes.flush()
            await services.graph.follow(friend, "doomed")
            await services.graph.follow(doomed, "friend")
            post = await store.get_post(theirs.post_id)
            assert post is not None and (post.like_count, post.comment_count) == (1, 1)

            await accounts.delete_account(doomed, "password1")
            job = Job("0-1", str(doomed.user_id), {})
            try:
                await services.account_deletion.handle(job)
            except StorageError:
                pass
            else:
                raise AssertionError("the first attempt did not fail")
            left = await store.list_posts_by_author(doomed.user_id, statuses=["ready"],
                                                    before=None, limit=10)
            assert len(left.items) == 2  # cut short after the first post

            await services.account_deletion.handle(job)  # the retry
            await services.likes.flush()

    assert await store.get_user(doomed.user_id) is None
    assert (await store.list_posts_by_author(doomed.user_id, statuses=["ready"], before=None,
                                             limit=10)).items == []
    assert await store.comments_by_author(doomed.user_id, limit=10) == []
    assert await store.liked_post_ids(doomed.user_id) == []
    friend_now = await store.get_user(friend.user_id)
    assert isinstance(friend_now, User)
    assert (friend_now.followers_count, friend_now.following_count) == (0, 0)
    post = await store.get_post(theirs.post_id)
    assert post is not None and (post.like_count, post.comment_count) == (0, 0)
    assert not any((settings.data_dir / "media" / "p" / str(p.post_id)).exists() for p in mine)
    assert (settings.data_dir / "media" / "p" / str(theirs.post_id)).exists()
    await store.aclose()
