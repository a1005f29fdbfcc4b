"""The `MetadataStore` contract, run against every adapter.

Adapters: "sqlite" and "mongomock" always; "mongodb" only when `PIXTRIO_TEST_MONGODB_URL`
names a server (each test then gets its own database, dropped afterwards).
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock
import pymongo
import pytest
import trio

from pixtrio.storage.errors import Conflict, StorageError
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.mongo import MongoStore
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import (
    NO_RELATION,
    AuditEntry,
    Comment,
    HashBlock,
    HashMatch,
    NewUser,
    Page,
    Post,
    PostHashes,
    PostStatus,
    Relation,
    Report,
    Token,
    User,
)

MONGODB_URL = os.environ.get("PIXTRIO_TEST_MONGODB_URL")
ADAPTERS = ["sqlite", "mongomock", *(["mongodb"] if MONGODB_URL else [])]

T0 = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)

_ids = itertools.count(1000)


def next_id() -> int:
    return next(_ids)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MetadataStore]:
    adapter: MetadataStore
    if request.param == "sqlite":
        adapter = await SqliteStore.open(tmp_path / "meta.db")
        try:
            yield adapter
        finally:
            await adapter.aclose()
    elif request.param == "mongomock":
        # mongomock is not thread-safe: one driver thread at a time.
        adapter = await MongoStore.open(mongomock.MongoClient(), "pixtrio_test", threads=1)
        try:
            yield adapter
        finally:
            await adapter.aclose()
    else:
        assert MONGODB_URL is not None
        database = f"pixtrio_test_{uuid.uuid4().hex[:12]}"
        adapter = await MongoStore.open(pymongo.MongoClient(MONGODB_URL), database)
        try:
            yield adapter
        finally:
            await adapter.aclose()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(_drop_database, MONGODB_URL, database)


def _drop_database(url: str, database: str) -> None:
    client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(url)
    try:
        client.drop_database(database)
    finally:
        client.close()


async def make_user(store: MetadataStore, name: str | None = None) -> User:
    user_id = next_id()
    name = name or f"user{user_id}"
    return await store.create_user(
        NewUser(user_id, name, f"{name}@example.com", "argon2-hash", T0)
    )


def make_post(author_id: int, status: PostStatus = "processing", **fields: Any) -> Post:
    return Post(**{"post_id": next_id(), "author_id": author_id, "kind": "photo",
                   "status": status, "created_at": T0, **fields})


async def all_pages(
    fetch: Callable[..., Awaitable[Page[User]]], user_id: int, limit: int = 2
) -> list[User]:
    """Every user of a paged follow list, checking the paging promises on the way."""
    users: list[User] = []
    before: int | None = None
    for _ in range(10_000):
        page = await fetch(user_id, before=before, limit=limit)
        assert len(page.items) <= limit
        users.extend(page.items)
        if page.next_position is None:
            break
        assert len(page.items) == limit
        assert before is None or page.next_position < before
        before = page.next_position
    return users


# users


async def test_create_and_get_user(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user = await make_user(store, "alice")
        assert user.username == "alice"
        assert user.email == "alice@example.com"
        assert user.password_hash == "argon2-hash"
        assert (user.display_name, user.bio, user.profile_pic) == ("", "", None)
        assert (user.followers_count, user.following_count, user.posts_count) == (0, 0, 0)
        assert user.created_at == T0

        assert await store.get_user(user.user_id) == user
        assert await store.get_user_by_username("alice") == user
        assert await store.get_user_by_login("alice") == user
        assert await store.get_user_by_login("alice@example.com") == user

        assert await store.get_user(user.user_id + 999_999) is None
        assert await store.get_user_by_username("nobody") is None
        assert await store.get_user_by_username("alice@example.com") is None
        assert await store.get_user_by_login("nobody@example.com") is None


async def test_duplicate_username_conflicts(store: MetadataStore) -> None:
    with trio.fail_after(10):
        first = await make_user(store, "bob")
        with pytest.raises(Conflict) as info:
            await store.create_user(NewUser(next_id(), "bob", "other@example.com", "h", T0))
        assert info.value.field == "username"
        assert await store.get_user_by_login("other@example.com") is None
        assert await store.get_user_by_username("bob") == first


async def test_duplicate_email_conflicts(store: MetadataStore) -> None:
    with trio.fail_after(10):
        await make_user(store, "carol")
        with pytest.raises(Conflict) as info:
            await store.create_user(NewUser(next_id(), "carol2", "carol@example.com", "h", T0))
        assert info.value.field == "email"
        assert isinstance(info.value, StorageError)
        assert await store.get_user_by_username("carol2") is None


async def test_duplicate_user_id_conflicts(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user = await make_user(store)
        with pytest.raises(Conflict) as info:
            await store.create_user(NewUser(user.user_id, "fresh", "fresh@example.com", "h", T0))
        assert info.value.field == "user_id"


async def test_get_users_batch(store: MetadataStore) -> None:
    with trio.fail_after(10):
        users = [await make_user(store) for _ in range(3)]
        missing = next_id()
        found = await store.get_users([u.user_id for u in users] + [missing])
        assert found == {u.user_id: u for u in users}
        assert await store.get_users([]) == {}
        assert await store.get_users([missing]) == {}


async def test_update_profile(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user = await make_user(store)
        updated = await store.update_profile(user.user_id, display_name="Dee")
        assert updated is not None
        assert (updated.display_name, updated.bio, updated.profile_pic) == ("Dee", "", None)

        updated = await store.update_profile(user.user_id, bio="hi", profile_pic="pics/1.jpg")
        assert updated is not None
        assert (updated.display_name, updated.bio, updated.profile_pic) == (
            "Dee", "hi", "pics/1.jpg"
        )
        assert await store.update_profile(user.user_id) == updated
        assert await store.get_user(user.user_id) == updated
        assert updated.username == user.username and updated.created_at == user.created_at

        assert await store.update_profile(next_id(), bio="ghost") is None
        assert await store.update_profile(next_id()) is None


async def test_private_flag(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user = await make_user(store)
        assert user.is_private is False
        updated = await store.update_profile(user.user_id, is_private=True)
        assert updated is not None and updated.is_private is True
        assert (await store.update_profile(user.user_id, bio="x")).is_private is True  # type: ignore[union-attr]
        assert (await store.get_users([user.user_id]))[user.user_id].is_private is True
        token = Token(os.urandom(32), user.user_id, T0)
        await store.create_token(token)
        assert (await store.get_token_user(token.token_hash)).is_private is True  # type: ignore[union-attr]
        assert (await store.update_profile(user.user_id, is_private=False)).is_private is False  # type: ignore[union-attr]


# tokens


async def test_tokens(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user = await make_user(store)
        token = Token(os.urandom(32), user.user_id, T0)
        await store.create_token(token)
        assert await store.get_token_user(token.token_hash) == user
        assert await store.get_token_user(os.urandom(32)) is None

        with pytest.raises(Conflict):
            await store.create_token(token)

        assert await store.revoke_token(token.token_hash) is True
        assert await store.revoke_token(token.token_hash) is False
        assert await store.get_token_user(token.token_hash) is None


async def test_tokens_are_listed_as_sessions(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user, other = await make_user(store), await make_user(store)
        first = Token(os.urandom(32), user.user_id, T0, user_agent="Firefox", ip="192.0.2.1")
        second = Token(os.urandom(32), user.user_id, T0 + timedelta(seconds=1), ip="2001:db8::1")
        theirs = Token(os.urandom(32), other.user_id, T0)
        for token in (first, second, theirs):
            await store.create_token(token)
        assert first.session_id != second.session_id
        listed = await store.list_tokens(user.user_id)
        assert listed == [replace(t, last_used_at=t.created_at) for t in (second, first)]

        await store.touch_token(first.token_hash, T0 + timedelta(minutes=5))
        await store.touch_token(os.urandom(32), T0)  # unknown: no change, no error
        [_, touched] = await store.list_tokens(user.user_id)
        assert touched.last_used_at == T0 + timedelta(minutes=5)

        # another user's session is not revoked by naming it
        assert await store.revoke_session(user.user_id, theirs.session_id) is None
        assert await store.get_token_user(theirs.token_hash) == other
        revoked = await store.revoke_session(user.user_id, first.session_id)
        assert revoked is not None and revoked.token_hash == first.token_hash
        assert await store.revoke_session(user.user_id, first.session_id) is None
        assert await store.get_token_user(first.token_hash) is None
        assert [t.token_hash for t in await store.list_tokens(user.user_id)] == [second.token_hash]


async def test_revoke_tokens_keeps_only_the_one_kept(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user, other = await make_user(store), await make_user(store)
        mine = [Token(os.urandom(32), user.user_id, T0) for _ in range(3)]
        theirs = Token(os.urandom(32), other.user_id, T0)
        for token in (*mine, theirs):
            await store.create_token(token)
        revoked = await store.revoke_tokens(user.user_id, keep=mine[0].token_hash)
        assert sorted(revoked) == sorted(t.token_hash for t in mine[1:])
        assert await store.get_token_user(mine[0].token_hash) == user
        assert [await store.get_token_user(t.token_hash) for t in mine[1:]] == [None, None]
        assert await store.revoke_tokens(user.user_id) == [mine[0].token_hash]
        assert await store.list_tokens(user.user_id) == []
        assert await store.get_token_user(theirs.token_hash) == other


async def test_set_password_hash(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user = await make_user(store)
        assert await store.set_password_hash(user.user_id, "new-hash") is True
        assert (await store.get_user(user.user_id)).password_hash == "new-hash"  # type: ignore[union-attr]
        assert await store.set_password_hash(next_id(), "x") is False


async def test_deleting_a_user_frees_its_names_and_signs_its_tokens_out(
    store: MetadataStore,
) -> None:
    with trio.fail_after(10):
        user = await make_user(store, "leaver")
        token = Token(os.urandom(32), user.user_id, T0)
        await store.create_token(token)
        assert await store.delete_user(user.user_id) is True
        assert await store.delete_user(user.user_id) is False
        assert await store.get_user(user.user_id) is None
        assert await store.get_user_by_login("leaver") is None
        assert await store.get_token_user(token.token_hash) is None
        assert await store.revoke_tokens(user.user_id) == [token.token_hash]
        again = await make_user(store, "leaver")
        assert again.user_id != user.user_id


async def test_role_and_suspension(store: MetadataStore) -> None:
    with trio.fail_after(10):
        user = await make_user(store)
        assert (user.role, user.suspended) == ("user", False)
        moderator = await store.set_role(user.user_id, "moderator")
        assert moderator is not None and moderator.role == "moderator"
        suspended = await store.set_suspended(user.user_id, True)
        assert suspended is not None and suspended.suspended and suspended.role == "moderator"
        assert await store.get_user_by_username(user.username) == suspended
        assert (await store.get_users([user.user_id]))[user.user_id] == suspended
        back = await store.set_suspended(user.user_id, False)
        assert back is not None and not back.suspended
        assert await store.get_user(user.user_id) == back
        assert await store.set_role(next_id(), "admin") is None
        assert await store.set_suspended(next_id(), True) is None


# follows


async def test_follow_and_unfollow_are_idempotent(store: MetadataStore) -> None:
    with trio.fail_after(10):
        a, b = await make_user(store), await make_user(store)
        assert await store.follow(next_id(), a.user_id, b.user_id) is True
        assert await store.follow(next_id(), a.user_id, b.user_id) is False

        a2, b2 = await store.get_user(a.user_id), await store.get_user(b.user_id)
        assert a2 is not None and b2 is not None
        assert (a2.following_count, a2.followers_count) == (1, 0)
        assert (b2.following_count, b2.followers_count) == (0, 1)
        assert await store.follower_ids(b.user_id) == [a.user_id]

        assert await store.unfollow(a.user_id, b.user_id) is True
        assert await store.unfollow(a.user_id, b.user_id) is False
        assert await store.unfollow(b.user_id, a.user_id) is False

        a3, b3 = await store.get_user(a.user_id), await store.get_user(b.user_id)
        assert a3 is not None and b3 is not None
        assert (a3.following_count, a3.followers_count) == (0, 0)
        assert (b3.following_count, b3.followers_count) == (0, 0)
        assert await store.follower_ids(b.user_id) == []


async def test_follow_storm_keeps_counts_exact(store: MetadataStore) -> None:
    """Many users follow and unfollow a celebrity and each other at once."""
    with trio.fail_after(120):
        celebrity = await make_user(store)
        users = [await make_user(store) for _ in range(20)]
        everyone = [celebrity, *users]
        rng = random.Random(20240501)
        # Each pair (follower, followee) is only touched by its follower's task, so a
        # per-task model predicts every answer; counters are shared by all tasks.
        expected: set[tuple[int, int]] = set()

        async def churn(me: User, plan: list[tuple[str, int]]) -> None:
            for verb, other in plan:
                pair = (me.user_id, other)
                if verb == "follow":
                    added = await store.follow(next_id(), *pair)
                    assert added is (pair not in expected)
                    expected.add(pair)
                else:
                    removed = await store.unfollow(*pair)
                    assert removed is (pair in expected)
                    expected.discard(pair)

        plans = {
            u.user_id: [
                (
                    rng.choice(["follow", "follow", "unfollow"]),
                    celebrity.user_id
                    if rng.random() < 0.5
                    else rng.choice([o.user_id for o in users if o is not u]),
                )
                for _ in range(30)
            ]
            for u in users
        }
        async with trio.open_nursery() as nursery:
            for u in users:
                nursery.start_soon(churn, u, plans[u.user_id])

        current = await store.get_users([u.user_id for u in everyone])
        for user in everyone:
            followers = await all_pages(store.list_followers, user.user_id, limit=7)
            following = await all_pages(store.list_following, user.user_id, limit=7)
            assert {f.user_id for f in followers} == {a for a, b in expected if b == user.user_id}
            assert {f.user_id for f in following} == {b for a, b in expected if a == user.user_id}
            assert current[user.user_id].followers_count == len(followers)
            assert current[user.user_id].following_count == len(following)
            assert sorted(await store.follower_ids(user.user_id)) == sorted(
                f.user_id for f in followers
            )


async def test_racing_follows_of_one_pair_count_once(store: MetadataStore) -> None:
    with trio.fail_after(30):
        a, b = await make_user(store), await make_user(store)
        results: list[bool] = []

        async def follow() -> None:
            results.append(await store.follow(next_id(), a.user_id, b.user_id))

        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(follow)
        assert sorted(results) == [False] * 9 + [True]

        removed: list[bool] = []

        async def unfollow() -> None:
            removed.append(await store.unfollow(a.user_id, b.user_id))

        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(unfollow)
        assert sorted(removed) == [False] * 9 + [True]

        counts = await store.get_users([a.user_id, b.user_id])
        assert counts[a.user_id].following_count == 0
        assert counts[b.user_id].followers_count == 0


async def test_following_among(store: MetadataStore) -> None:
    with trio.fail_after(10):
        me, x, y, z = [await make_user(store) for _ in range(4)]
        await store.follow(next_id(), me.user_id, x.user_id)
        await store.follow(next_id(), me.user_id, z.user_id)
        await store.follow(next_id(), y.user_id, me.user_id)
        assert await store.following_among(
            me.user_id, [x.user_id, y.user_id, z.user_id, next_id()]
        ) == {x.user_id, z.user_id}
        assert await store.following_among(me.user_id, []) == set()
        assert await store.following_among(y.user_id, [x.user_id, z.user_id]) == set()


async def test_follow_lists_page_newest_first(store: MetadataStore) -> None:
    with trio.fail_after(10):
        star = await make_user(store)
        fans = [await make_user(store) for _ in range(5)]
        for fan in fans:
            await store.follow(next_id(), fan.user_id, star.user_id)
            await store.follow(next_id(), star.user_id, fan.user_id)
        newest_first = [f.user_id for f in reversed(fans)]

        pages = []
        before: int | None = None
        while True:
            page = await store.list_followers(star.user_id, before=before, limit=2)
            pages.append([u.user_id for u in page.items])
            if page.next_position is None:
                break
            before = page.next_position
        assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]

        following = await all_pages(store.list_following, star.user_id, limit=2)
        assert [u.user_id for u in following] == newest_first

        exact = await store.list_followers(star.user_id, before=None, limit=5)
        assert len(exact.items) == 5 and exact.next_position is None

        nobody = await make_user(store)
        empty = await store.list_followers(nobody.user_id, before=None, limit=2)
        assert (empty.items, empty.next_position) == ([], None)

        # Listed users are full users, counts included.
        first = (await store.list_followers(star.user_id, before=None, limit=1)).items[0]
        assert first == await store.get_user(fans[-1].user_id)
        assert (first.followers_count, first.following_count) == (1, 1)


async def test_follower_ids(store: MetadataStore) -> None:
    with trio.fail_after(10):
        star = await make_user(store)
        fans = [await make_user(store) for _ in range(4)]
        for fan in fans:
            await store.follow(next_id(), fan.user_id, star.user_id)
        await store.unfollow(fans[1].user_id, star.user_id)
        await store.follow(next_id(), star.user_id, fans[0].user_id)
        assert sorted(await store.follower_ids(star.user_id)) == sorted(
            f.user_id for f in fans if f is not fans[1]
        )
        assert await store.follower_ids(fans[0].user_id) == [star.user_id]
        assert sorted(await store.following_ids(fans[0].user_id)) == [star.user_id]
        assert sorted(await store.following_ids(star.user_id)) == [fans[0].user_id]
        assert await store.following_ids(fans[1].user_id) == []


# follow requests, blocks, mutes


async def counts(store: MetadataStore, user: User) -> tuple[int, int]:
    found = await store.get_user(user.user_id)
    assert found is not None
    return found.followers_count, found.following_count


async def test_follow_requests(store: MetadataStore) -> None:
    with trio.fail_after(10):
        owner = await make_user(store)
        fans = [await make_user(store) for _ in range(5)]
        for fan in fans:
            assert await store.request_follow(next_id(), fan.user_id, owner.user_id) is True
        assert await store.request_follow(next_id(), fans[0].user_id, owner.user_id) is False
        listed = await all_pages(store.list_follow_requests, owner.user_id)
        assert [u.user_id for u in listed] == [f.user_id for f in reversed(fans)]
        assert await store.list_follow_requests(fans[0].user_id, before=None, limit=5) == Page([], None)

        rel = await store.relations(fans[0].user_id, [owner.user_id, fans[1].user_id])
        assert rel == {owner.user_id: Relation(requested=True), fans[1].user_id: NO_RELATION}

        assert await store.accept_follow_request(next_id(), fans[0].user_id, owner.user_id) is True
        assert await store.accept_follow_request(next_id(), fans[0].user_id, owner.user_id) is False
        assert await counts(store, owner) == (1, 0)
        assert await counts(store, fans[0]) == (0, 1)
        assert (await store.relations(fans[0].user_id, [owner.user_id]))[owner.user_id] == \
            Relation(following=True)

        assert await store.remove_follow_request(fans[1].user_id, owner.user_id) is True
        assert await store.remove_follow_request(fans[1].user_id, owner.user_id) is False
        assert await store.accept_follow_request(next_id(), fans[1].user_id, owner.user_id) is False
        listed = await all_pages(store.list_follow_requests, owner.user_id)
        assert [u.user_id for u in listed] == [f.user_id for f in reversed(fans[2:])]
        assert await counts(store, owner) == (1, 0)


async def test_block_removes_follows_and_requests_both_ways(store: MetadataStore) -> None:
    with trio.fail_after(10):
        a, b, c = [await make_user(store) for _ in range(3)]
        await store.follow(next_id(), a.user_id, b.user_id)
        await store.follow(next_id(), b.user_id, a.user_id)
        await store.follow(next_id(), c.user_id, a.user_id)
        await store.request_follow(next_id(), a.user_id, b.user_id)
        await store.request_follow(next_id(), b.user_id, a.user_id)

        assert await store.block(next_id(), a.user_id, b.user_id) is True
        assert await store.block(next_id(), a.user_id, b.user_id) is False
        assert await counts(store, a) == (1, 0)
        assert await counts(store, b) == (0, 0)
        assert await store.list_follow_requests(a.user_id, before=None, limit=5) == Page([], None)
        assert await store.list_follow_requests(b.user_id, before=None, limit=5) == Page([], None)
        assert await store.follower_ids(a.user_id) == [c.user_id]

        rel = await store.relations(a.user_id, [b.user_id, c.user_id])
        assert rel == {b.user_id: Relation(blocking=True), c.user_id: NO_RELATION}
        assert (await store.relations(b.user_id, [a.user_id]))[a.user_id] == \
            Relation(blocked_by=True)

        await store.block(next_id(), b.user_id, a.user_id)
        assert (await store.relations(b.user_id, [a.user_id]))[a.user_id] == \
            Relation(blocking=True, blocked_by=True)
        await store.block(next_id(), a.user_id, c.user_id)
        assert [u.user_id for u in await all_pages(store.list_blocks, a.user_id, 1)] == \
            [c.user_id, b.user_id]

        assert await store.unblock(a.user_id, b.user_id) is True
        assert await store.unblock(a.user_id, b.user_id) is False
        assert (await store.relations(a.user_id, [b.user_id]))[b.user_id] == \
            Relation(blocked_by=True)
        assert await store.relations(a.user_id, []) == {}


async def test_mutes(store: MetadataStore) -> None:
    with trio.fail_after(10):
        a, b, c = [await make_user(store) for _ in range(3)]
        await store.follow(next_id(), a.user_id, b.user_id)
        assert await store.mute(next_id(), a.user_id, b.user_id) is True
        assert await store.mute(next_id(), a.user_id, b.user_id) is False
        assert await store.mute(next_id(), c.user_id, b.user_id) is True
        assert await store.mute(next_id(), a.user_id, c.user_id) is True
        assert (await store.relations(a.user_id, [b.user_id]))[b.user_id] == \
            Relation(following=True, muting=True)
        assert (await store.relations(b.user_id, [a.user_id]))[a.user_id] == NO_RELATION
        assert sorted(await store.muter_ids(b.user_id)) == sorted([a.user_id, c.user_id])
        assert [u.user_id for u in await all_pages(store.list_mutes, a.user_id, 1)] == \
            [c.user_id, b.user_id]
        assert await store.unmute(a.user_id, b.user_id) is True
        assert await store.unmute(a.user_id, b.user_id) is False
        assert await store.muter_ids(b.user_id) == [c.user_id]
        assert await counts(store, b) == (1, 0)  # a mute leaves the follow alone
        assert sorted(await store.muted_ids(a.user_id)) == [c.user_id]
        assert await store.suspended_ids() == []
        await store.set_suspended(b.user_id, True)
        assert (await store.relations(a.user_id, [b.user_id, c.user_id])) == {
            b.user_id: Relation(following=True, owner_suspended=True),
            c.user_id: Relation(muting=True)}
        assert await store.suspended_ids() == [b.user_id]
        assert await store.private_ids() == []
        await store.update_profile(c.user_id, is_private=True)
        await store.update_profile(a.user_id, is_private=True)  # the viewer may be asked of
        assert (await store.relations(a.user_id, [a.user_id, b.user_id, c.user_id])) == {
            a.user_id: Relation(owner_private=True),
            b.user_id: Relation(following=True, owner_suspended=True),
            c.user_id: Relation(muting=True, owner_private=True)}
        assert sorted(await store.private_ids()) == sorted([a.user_id, c.user_id])


# posts


async def test_create_and_get_posts(store: MetadataStore) -> None:
    with trio.fail_after(10):
        author = await make_user(store)
        post = make_post(
            author.user_id,
            caption="sunset",
            location="Lisbon",
            alt_text="an orange sky",
            hashtags=("sun", "sea"),
            media={"variants": {"thumb": "p/1/thumb.jpg"}, "width": 1080},
        )
        await store.create_post(post)
        assert await store.get_post(post.post_id) == post
        assert await store.get_post(next_id()) is None

        with pytest.raises(Conflict) as info:
            await store.create_post(
                Post(post.post_id, author.user_id, "video", "processing", created_at=T0)
            )
        assert info.value.field == "post_id"
        assert await store.get_post(post.post_id) == post

        other = make_post(author.user_id)
        await store.create_post(other)
        missing = next_id()
        assert await store.get_posts([post.post_id, other.post_id, missing]) == {
            post.post_id: post,
            other.post_id: other,
        }
        assert await store.get_posts([]) == {}

        refreshed = await store.get_user(author.user_id)
        assert refreshed is not None and refreshed.posts_count == 0


async def test_update_post(store: MetadataStore) -> None:
    with trio.fail_after(10):
        author = await make_user(store)
        post = make_post(author.user_id, caption="old")
        await store.create_post(post)

        updated = await store.update_post(
            post.post_id, caption="new", hashtags=["a", "b"], media={"k": [1, 2]}
        )
        assert updated is not None
        assert updated.caption == "new"
        assert updated.hashtags == ("a", "b")
        assert updated.media == {"k": [1, 2]}
        assert (updated.status, updated.kind, updated.location) == ("processing", "photo", "")
        assert await store.get_post(post.post_id) == updated

        updated = await store.update_post(post.post_id, failure_reason="x", location="Porto")
        assert updated is not None
        assert (updated.failure_reason, updated.location, updated.caption) == ("x", "Porto", "new")
        assert await store.update_post(post.post_id) == updated

        with pytest.raises(ValueError):
            await store.update_post(post.post_id, status="ready")
        with pytest.raises(ValueError):
            await store.update_post(post.post_id, like_count=5)
        assert await store.get_post(post.post_id) == updated

        assert await store.update_post(next_id(), caption="ghost") is None


async def test_post_status_keeps_posts_count_exact(store: MetadataStore) -> None:
    with trio.fail_after(10):
        author = await make_user(store)

        async def posts_count() -> int:
            user = await store.get_user(author.user_id)
            assert user is not None
            return user.posts_count

        post = make_post(author.user_id)
        await store.create_post(post)
        assert await posts_count() == 0

        ready = await store.set_post_status(post.post_id, "ready")
        assert ready is not None and ready.status == "ready" and ready.failure_reason is None
        assert await store.get_post(post.post_id) == ready
        assert await posts_count() == 1

        assert await store.set_post_status(post.post_id, "ready") == ready
        assert await posts_count() == 1

        failed = await store.set_post_status(post.post_id, "failed", failure_reason="codec")
        assert failed is not None
        assert (failed.status, failed.failure_reason) == ("failed", "codec")
        assert await store.get_post(post.post_id) == failed
        assert await posts_count() == 0

        assert await store.set_post_status(post.post_id, "failed") is not None
        assert await posts_count() == 0
        assert await store.set_post_status(post.post_id, "processing") is not None
        assert await posts_count() == 0
        assert await store.set_post_status(next_id(), "ready") is None
        assert await posts_count() == 0


async def test_delete_post(store: MetadataStore) -> None:
    with trio.fail_after(10):
        author = await make_user(store)

        async def posts_count() -> int:
            user = await store.get_user(author.user_id)
            assert user is not None
            return user.posts_count

        kept, gone, never_ready = (make_post(author.user_id) for _ in range(3))
        for post in (kept, gone, never_ready):
            await store.create_post(post)
        await store.set_post_status(kept.post_id, "ready")
        ready_gone = await store.set_post_status(gone.post_id, "ready")
        assert await posts_count() == 2

        assert await store.delete_post(gone.post_id) == ready_gone
        assert await posts_count() == 1
        assert await store.delete_post(gone.post_id) is None
        assert await posts_count() == 1
        assert await store.get_post(gone.post_id) is None

        assert await store.delete_post(never_ready.post_id) == never_ready
        assert await posts_count() == 1
        assert await store.get_post(kept.post_id) is not None


async def test_post_created_ready_counts(store: MetadataStore) -> None:
    with trio.fail_after(10):
        author = await make_user(store)
        post = make_post(author.user_id, status="ready")
        await store.create_post(post)
        user = await store.get_user(author.user_id)
        assert user is not None and user.posts_count == 1
        assert await store.delete_post(post.post_id) == post
        user = await store.get_user(author.user_id)
        assert user is not None and user.posts_count == 0


async def test_list_posts_by_author(store: MetadataStore) -> None:
    with trio.fail_after(10):
        author, other = await make_user(store), await make_user(store)
        statuses: list[PostStatus] = ["ready", "processing", "ready", "failed", "ready", "ready"]
        posts = []
        for status in statuses:
            post = make_post(author.user_id)
            await store.create_post(post)
            if status != "processing":
                await store.set_post_status(post.post_id, status)
            posts.append(post.post_id)
        elsewhere = make_post(other.user_id)
        await store.create_post(elsewhere)
        await store.set_post_status(elsewhere.post_id, "ready")

        ready_newest_first = [p for p, s in reversed(list(zip(posts, statuses, strict=True)))
                              if s == "ready"]
        seen: list[int] = []
        before: int | None = None
        pages = 0
        while True:
            page = await store.list_posts_by_author(
                author.user_id, statuses=["ready"], before=before, limit=3
            )
            pages += 1
            assert all(p.status == "ready" and p.author_id == author.user_id for p in page.items)
            seen.extend(p.post_id for p in page.items)
            if page.next_position is None:
                break
            before = page.next_position
        assert seen == ready_newest_first
        assert pages == 2

        both = await store.list_posts_by_author(
            author.user_id, statuses=["processing", "failed"], before=None, limit=10
        )
        assert [p.post_id for p in both.items] == [posts[3], posts[1]]
        assert both.next_position is None

        below = await store.list_posts_by_author(
            author.user_id, statuses=["ready", "processing", "failed"], before=posts[3], limit=2
        )
        assert [p.post_id for p in below.items] == [posts[2], posts[1]]
        assert below.next_position == posts[1]

        none = await store.list_posts_by_author(
            next_id(), statuses=["ready"], before=None, limit=5
        )
        assert (none.items, none.next_position) == ([], None)


async def tagged(store: MetadataStore, tag: str, limit: int = 2) -> list[int]:
    """Every post id of `posts_with_hashtag(tag)`, paging, checking the paging promises."""
    ids: list[int] = []
    before: int | None = None
    while True:
        page = await store.posts_with_hashtag(tag, before=before, limit=limit)
        assert len(page.items) <= limit
        assert all(p.status == "ready" and tag in p.hashtags for p in page.items)
        ids.extend(p.post_id for p in page.items)
        if page.next_position is None:
            return ids
        assert len(page.items) == limit
        before = page.next_position


async def test_posts_with_hashtag(store: MetadataStore) -> None:
    """Ready posts carrying the tag, newest first across authors, paged; processing and
    failed posts are left out until ready; an exact match on the stored lowercase tag."""
    with trio.fail_after(10):
        a, b = await make_user(store), await make_user(store)
        made: list[tuple[int, str, tuple[str, ...]]] = []
        for author, status, tags in [
            (a, "ready", ("sun",)), (b, "ready", ("sea", "sun")), (a, "processing", ("sun",)),
            (b, "ready", ("sunset",)), (a, "failed", ("sun",)), (b, "ready", ()),
            (a, "ready", ("café", "sun", "١٢٣")), (b, "ready", ("sun",)),
        ]:
            post = make_post(author.user_id, hashtags=tags)
            await store.create_post(post)
            if status != "processing":
                await store.set_post_status(post.post_id, status)  # type: ignore[arg-type]
            made.append((post.post_id, status, tags))

        def expected(tag: str) -> list[int]:
            return [p for p, status, tags in reversed(made) if status == "ready" and tag in tags]

        sun = expected("sun")
        assert len(sun) == 4
        assert await tagged(store, "sun") == sun
        assert await tagged(store, "sun", limit=4) == sun
        assert await tagged(store, "sea") == [made[1][0]]
        assert await tagged(store, "café") == await tagged(store, "١٢٣") == [made[6][0]]
        for nothing in ("SUN", "su", "sunse", "nope"):
            assert await tagged(store, nothing) == []
        below = await store.posts_with_hashtag("sun", before=sun[1], limit=1)
        assert [p.post_id for p in below.items] == [sun[2]]
        assert below.next_position == sun[2]
        last = await store.posts_with_hashtag("sun", before=sun[2], limit=1)
        assert ([p.post_id for p in last.items], last.next_position) == ([sun[3]], None)

        processing = made[2][0]
        await store.set_post_status(processing, "ready")
        assert await tagged(store, "sun") == sorted([*sun, processing], reverse=True)
        await store.set_post_status(processing, "failed")
        assert await tagged(store, "sun") == sun


async def test_a_posts_hashtags_follow_its_updates_and_deletion(store: MetadataStore) -> None:
    with trio.fail_after(10):
        author = await make_user(store)
        kept = make_post(author.user_id, "ready", hashtags=("sun",))
        moved = make_post(author.user_id, "ready", hashtags=("sun", "sea"))
        for post in (kept, moved):
            await store.create_post(post)
        assert await tagged(store, "sun") == [moved.post_id, kept.post_id]

        await store.update_post(moved.post_id, hashtags=["sea", "sky"])
        assert await tagged(store, "sun") == [kept.post_id]
        assert await tagged(store, "sky") == await tagged(store, "sea") == [moved.post_id]
        await store.update_post(moved.post_id, caption="no tags said")
        assert await tagged(store, "sky") == [moved.post_id]
        await store.update_post(moved.post_id, hashtags=())
        assert await tagged(store, "sky") == await tagged(store, "sea") == []
        assert await store.update_post(next_id(), hashtags=["sun"]) is None
        assert await tagged(store, "sun") == [kept.post_id]

        await store.delete_post(kept.post_id)
        assert await tagged(store, "sun") == []
        again = make_post(author.user_id, "ready", hashtags=("sun",))
        await store.create_post(again)
        assert await tagged(store, "sun") == [again.post_id]


# lifecycle


async def test_processing_posts_published_before_a_time(store: MetadataStore) -> None:
    author = await make_user(store)
    now = datetime.now(UTC)
    ages = {"old": 7200, "older": 9000, "new": 60}
    made = {}
    for name, age in ages.items():
        made[name] = make_post(author.user_id, "processing",
                               created_at=now - timedelta(seconds=age))
        await store.create_post(made[name])
    await store.create_post(make_post(author.user_id, "ready",
                                      created_at=now - timedelta(seconds=9999)))
    stuck = await store.processing_posts(created_before=now - timedelta(hours=1), limit=10)
    assert [p.post_id for p in stuck] == [made["older"].post_id, made["old"].post_id]
    assert len(await store.processing_posts(created_before=now, limit=2)) == 2
    assert await store.processing_posts(created_before=now - timedelta(days=1), limit=10) == []


async def test_recent_ready_post_ids(store: MetadataStore) -> None:
    a, b, c = [await make_user(store) for _ in range(3)]
    made = []
    for author, status in [(a, "ready"), (b, "ready"), (c, "ready"), (a, "processing"),
                           (b, "ready"), (a, "failed"), (a, "ready")]:
        post = make_post(author.user_id, status)  # type: ignore[arg-type]
        await store.create_post(post)
        made.append((post.post_id, author.user_id, status))
    expected = [(pid, uid) for pid, uid, st in reversed(made)
                if st == "ready" and uid in (a.user_id, b.user_id)]
    assert await store.recent_ready_post_ids([a.user_id, b.user_id], limit=10) == expected
    assert await store.recent_ready_post_ids([a.user_id, b.user_id], limit=2) == expected[:2]
    assert await store.recent_ready_post_ids([], limit=5) == []


async def test_likes_are_idempotent_and_counted(store: MetadataStore) -> None:
    author = await make_user(store)
    post, other = make_post(author.user_id, "ready"), make_post(author.user_id, "ready")
    await store.create_post(post)
    await store.create_post(other)
    fans = [await make_user(store) for _ in range(3)]
    assert await store.add_like(post.post_id, fans[0].user_id)
    assert not await store.add_like(post.post_id, fans[0].user_id)
    assert await store.add_like(post.post_id, fans[1].user_id)
    assert await store.add_like(other.post_id, fans[1].user_id)
    assert await store.liked_among(fans[1].user_id, [post.post_id, other.post_id, 1]) == {
        post.post_id, other.post_id}
    assert await store.liked_among(fans[2].user_id, [post.post_id]) == set()
    assert sorted(await store.liked_post_ids(fans[1].user_id)) == sorted(
        [post.post_id, other.post_id])
    assert await store.liked_post_ids(fans[2].user_id) == []
    assert await store.count_likes([post.post_id, other.post_id, 7]) == {
        post.post_id: 2, other.post_id: 1, 7: 0}
    assert await store.remove_like(post.post_id, fans[0].user_id)
    assert not await store.remove_like(post.post_id, fans[0].user_id)
    assert await store.liked_post_ids(fans[0].user_id) == []
    assert await store.count_likes([post.post_id]) == {post.post_id: 1}

    await store.set_like_counts({post.post_id: 1, other.post_id: 1, 123456: 9})
    got = await store.get_posts([post.post_id, other.post_id])
    assert (got[post.post_id].like_count, got[other.post_id].like_count) == (1, 1)


async def test_concurrent_likes_record_each_user_once(store: MetadataStore) -> None:
    author = await make_user(store)
    post = make_post(author.user_id, "ready")
    await store.create_post(post)
    users = [next_id() for _ in range(30)]
    results: list[bool] = []

    async def like(user_id: int) -> None:
        results.append(await store.add_like(post.post_id, user_id))

    with trio.fail_after(20):
        async with trio.open_nursery() as nursery:
            for user_id in users + users:  # every user twice, at once
                nursery.start_soon(like, user_id)
    assert results.count(True) == 30
    assert await store.count_likes([post.post_id]) == {post.post_id: 30}


def make_comment(post_id: int, author_id: int, text: str = "nice") -> Comment:
    return Comment(comment_id=next_id(), post_id=post_id, author_id=author_id, text=text,
                   created_at=T0, hashtags=("tag",), mentions=("someone",))


async def test_comments(store: MetadataStore) -> None:
    author, fan = await make_user(store), await make_user(store)
    post = make_post(author.user_id, "ready")
    await store.create_post(post)
    comments = [make_comment(post.post_id, fan.user_id, f"c{i}") for i in range(5)]
    for comment in comments:
        assert await store.create_comment(comment)
    assert not await store.create_comment(make_comment(999_999, fan.user_id))
    assert await store.get_comment(comments[2].comment_id) == comments[2]
    assert (await store.get_post(post.post_id)).comment_count == 5  # type: ignore[union-attr]

    seen, after = [], None
    while True:
        page = await store.list_comments(post.post_id, after=after, limit=2)
        seen += page.items
        if page.next_position is None:
            break
        after = page.next_position
    assert seen == comments  # oldest first, every one once

    assert await store.delete_comment(comments[0].comment_id) == comments[0]
    assert await store.delete_comment(comments[0].comment_id) is None
    assert await store.get_comment(comments[0].comment_id) is None
    assert (await store.get_post(post.post_id)).comment_count == 4  # type: ignore[union-attr]


async def test_comments_by_author(store: MetadataStore) -> None:
    author, fan, other = await make_user(store), await make_user(store), await make_user(store)
    posts = [make_post(author.user_id, "ready") for _ in range(2)]
    for post in posts:
        await store.create_post(post)
    mine = [make_comment(posts[i % 2].post_id, fan.user_id, f"c{i}") for i in range(3)]
    for comment in mine:
        await store.create_comment(comment)
        await store.create_comment(make_comment(posts[0].post_id, other.user_id))
    assert await store.comments_by_author(fan.user_id, limit=2) == mine[:2]
    assert await store.comments_by_author(fan.user_id, limit=10) == mine
    assert await store.comments_by_author(author.user_id, limit=10) == []


async def test_deleting_a_post_deletes_its_likes_and_comments(store: MetadataStore) -> None:
    author, fan = await make_user(store), await make_user(store)
    post = make_post(author.user_id, "ready")
    await store.create_post(post)
    await store.add_like(post.post_id, fan.user_id)
    comment = make_comment(post.post_id, fan.user_id)
    await store.create_comment(comment)
    await store.delete_post(post.post_id)
    assert await store.liked_among(fan.user_id, [post.post_id]) == set()
    assert await store.count_likes([post.post_id]) == {post.post_id: 0}
    assert await store.get_comment(comment.comment_id) is None


# moderation


def make_report(reporter_id: int, target_id: int) -> Report:
    return Report(report_id=next_id(), reporter_id=reporter_id, target="post",
                  target_id=target_id, reason="spam", text="buy now", created_at=T0)


async def test_reports_list_by_status_and_resolve_once(store: MetadataStore) -> None:
    with trio.fail_after(10):
        reporter, moderator = await make_user(store), await make_user(store)
        reports = [make_report(reporter.user_id, next_id()) for _ in range(5)]
        for report in reports:
            await store.create_report(report)
        with pytest.raises(Conflict):
            await store.create_report(reports[0])
        assert await store.get_report(reports[0].report_id) == reports[0]
        assert await store.get_report(next_id()) is None

        later = T0 + timedelta(hours=1)
        resolved = await store.resolve_report(reports[1].report_id, resolution="dismiss",
                                              resolved_by=moderator.user_id, resolved_at=later)
        assert resolved == Report(**{**_fields(reports[1]), "status": "resolved",
                                     "resolution": "dismiss", "resolved_by": moderator.user_id,
                                     "resolved_at": later})
        assert await store.resolve_report(reports[1].report_id, resolution="remove",
                                          resolved_by=moderator.user_id, resolved_at=later) is None
        assert await store.get_report(reports[1].report_id) == resolved

        open_ids: list[int] = []
        before: int | None = None
        while True:
            page = await store.list_reports(status="open", before=before, limit=2)
            open_ids += [r.report_id for r in page.items]
            if page.next_position is None:
                break
            before = page.next_position
        assert open_ids == sorted((r.report_id for r in reports if r is not reports[1]),
                                  reverse=True)
        done = await store.list_reports(status="resolved", before=None, limit=10)
        assert done == Page([resolved], None)


def _fields(report: Report) -> dict[str, Any]:
    return {name: getattr(report, name) for name in Report.__slots__}  # type: ignore[attr-defined]


async def test_audit_log_pages_newest_first(store: MetadataStore) -> None:
    with trio.fail_after(10):
        entries = [AuditEntry(next_id(), actor, "user.suspend", "user", next_id(), "spam", T0)
                   for actor in (1, None, 3)]
        for entry in entries:
            await store.add_audit_entry(entry)
        first = await store.list_audit_entries(before=None, limit=2)
        assert first.items == entries[:0:-1] and first.next_position == entries[1].action_id
        assert await store.list_audit_entries(before=first.next_position, limit=2) == Page(
            [entries[0]], None)
# the perceptual-hash blocklist

async def test_hash_blocks_are_stored_listed_and_removed(store: MetadataStore) -> None:
    blocks = [
        HashBlock(next_id(), "ab" * 32, "image", T0, variants=("cd" * 32, "ef" * 32),
                  note="spam wave", added_by=7),
        HashBlock(next_id(), "01" * 32, "pdq", T0 + timedelta(seconds=1)),
        HashBlock(next_id(), "23" * 32, "post", T0, variants=("45" * 32,), added_by=7,
                  post_id=99),
    ]
    for block in blocks:
        await store.add_hash_block(block)
    with pytest.raises(Conflict) as conflict:
        await store.add_hash_block(blocks[0])
    assert conflict.value.field == "block_id"

    assert sorted(await store.all_hash_blocks(), key=lambda b: b.block_id) == blocks
    first = await store.list_hash_blocks(before=None, limit=2)
    assert first.items == blocks[::-1][:2]  # newest (highest id) first
    assert first.next_position is not None
    rest = await store.list_hash_blocks(before=first.next_position, limit=2)
    assert rest == Page([blocks[0]], None)

    assert await store.remove_hash_block(blocks[1].block_id) == blocks[1]
    assert await store.remove_hash_block(blocks[1].block_id) is None
    assert sorted(await store.all_hash_blocks(), key=lambda b: b.block_id) == \
        [blocks[0], blocks[2]]


async def test_post_hashes_are_kept_replaced_and_outlive_the_post(store: MetadataStore) -> None:
    author = await make_user(store)
    post = make_post(author.user_id, "ready")
    await store.create_post(post)
    assert await store.get_post_hashes(post.post_id) is None
    first = PostHashes(post.post_id, author.user_id, ("ab" * 32, "cd" * 32), 90, T0)
    await store.keep_post_hashes(first)
    assert await store.get_post_hashes(post.post_id) == first
    again = PostHashes(post.post_id, author.user_id, ("ef" * 32,), 80, T0 + timedelta(seconds=1))
    await store.keep_post_hashes(again)  # a retried job
    await store.delete_post(post.post_id)
    assert await store.get_post_hashes(post.post_id) == again


async def test_hash_matches_are_recorded_newest_first(store: MetadataStore) -> None:
    matches = [HashMatch(next_id(), block_id=5, distance=d, user_id=8, created_at=T0,
                         post_id=None if d == 0 else 40 + d) for d in range(3)]
    for match in matches:
        await store.add_hash_match(match)
    first = await store.list_hash_matches(before=None, limit=2)
    assert first.items == matches[::-1][:2]
    assert first.next_position is not None
    assert await store.list_hash_matches(before=first.next_position, limit=2) == \
        Page([matches[0]], None)


async def test_ping(store: MetadataStore) -> None:
    with trio.fail_after(10):
        await store.ping()


async def test_aclose_twice(store: MetadataStore) -> None:
    with trio.fail_after(10):
        await store.aclose()
        await store.aclose()
        with pytest.raises(StorageError):
            await store.ping()
