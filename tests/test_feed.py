"""The feed, likes and their Redis structures against a real Valkey and SQLite, in process.

A property test drives random follow graphs (with authors crossing the celebrity
threshold both ways), posting, deleting, unfollowing and Redis losing everything, and
checks that paging every user's feed gives exactly the expected posts in order.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixtrio.features.views import author_card, author_view
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.lean import Call, LeanRedis
from pixtrio.storage.redis.mirrored_sets import following_sets, suspended_set
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.redis.timelines import SCORE_SHIFT, score
from pixtrio.storage.types import NewUser, Post, User
from pixtrio.testing.valkey_cluster import ValkeyCluster
from tests.support.services import InProcess, in_process

THRESHOLD = 2
PEOPLE = 4
"""Few people and a low threshold, so authors cross it both ways in most examples."""


@dataclass
class World(InProcess):
    async def user(self) -> User:
        user_id = self.ids.next_id()
        return await self.store.create_user(NewUser(user_id, f"u{user_id}", f"u{user_id}@x.y",
                                                    "hash", datetime.now(UTC)))

    async def post(self, author: User, post_id: int | None = None) -> int:
        """A post that just became ready, fanned out."""
        post = Post(post_id=post_id or self.ids.next_id(), author_id=author.user_id, kind="photo",
                    status="processing", created_at=datetime.now(UTC))
        await self.store.create_post(post)
        await self.store.set_post_status(post.post_id, "ready")
        await self.fanout.post_ready(post.post_id)
        await self.drain()
        return post.post_id

    async def all_pages(self, viewer: User, limit: int) -> list[int]:
        seen: list[int] = []
        before = None
        for _ in range(1000):
            page = await self.feed.page(viewer.user_id, before=before, limit=limit)
            assert len(page.posts) <= limit
            seen += [p.post_id for p in page.posts]
            if page.next_position is None:
                return seen
            assert before is None or page.next_position < before
            before = page.next_position
        raise AssertionError("the feed never ended")


@pytest.fixture
async def world(tmp_path: Path, cluster: ValkeyCluster | None) -> AsyncIterator[World]:
    async with open_world(tmp_path, cluster) as opened:
        yield opened


@asynccontextmanager
async def open_world(tmp_path: Path, cluster: ValkeyCluster | None) -> AsyncIterator[World]:
    """The services on a store and a Valkey (or `cluster`) in `tmp_path`; closed on exit."""
    async with in_process(tmp_path, cluster, celebrity_threshold=THRESHOLD) as built:
        yield World(**vars(built))


PERSON = st.integers(0, PEOPLE - 1)
OPS = st.lists(st.one_of(
    st.tuples(st.just("follow"), PERSON, PERSON),
    st.tuples(st.just("follow"), PERSON, PERSON),
    st.tuples(st.just("unfollow"), PERSON, PERSON),
    st.tuples(st.just("post"), PERSON, st.just(0)),
    st.tuples(st.just("post"), PERSON, st.just(0)),
    st.tuples(st.just("delete"), st.integers(0, 1000), st.just(0)),
    st.tuples(st.just("flush_redis"), st.just(0), st.just(0)),
), min_size=10, max_size=40)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS, limit=st.integers(1, 5))
async def test_feed_pages_are_exactly_the_expected_posts(
    ops: list[tuple[str, int, int]], limit: int,
) -> None:
    with tempfile.TemporaryDirectory(prefix="pixtrio-feed-") as tmp:
        async with open_world(Path(tmp), None) as world:
            await check_feed_model(world, ops, limit)


@pytest.mark.cluster
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS, limit=st.integers(1, 5))
async def test_feed_pages_are_exactly_the_expected_posts_on_a_cluster(
    valkey_cluster: ValkeyCluster, ops: list[tuple[str, int, int]], limit: int,
) -> None:
    with tempfile.TemporaryDirectory(prefix="pixtrio-feed-") as tmp:
        async with open_world(Path(tmp), valkey_cluster) as world:
            await check_feed_model(world, ops, limit)


async def check_feed_model(world: World, ops: list[tuple[str, int, int]], limit: int) -> None:
    people = [await world.user() for _ in range(PEOPLE)]
    follows: set[tuple[int, int]] = set()
    posts: list[tuple[int, int]] = []  # (post id, author index), oldest first

    def expected(viewer: int) -> list[int]:
        sources = {viewer} | {b for a, b in follows if a == viewer}
        return [p for p, author in reversed(posts) if author in sources]

    for op, a, b in ops:
        if op in ("follow", "unfollow") and a != b:
            if op == "follow":
                if await world.store.follow(world.ids.next_id(), people[a].user_id,
                                            people[b].user_id):
                    await world.fanout.followed(people[a].user_id, people[b].user_id)
                follows.add((a, b))
            else:
                if await world.store.unfollow(people[a].user_id, people[b].user_id):
                    await world.fanout.unfollowed(people[a].user_id, people[b].user_id)
                follows.discard((a, b))
            await world.drain()
        elif op == "post":
            posts.append((await world.post(people[a]), a))
        elif op == "delete" and posts:
            post_id, author = posts.pop(a % len(posts))
            await world.posts.delete(people[author], post_id)
            await world.drain()
        elif op == "flush_redis":
            await world.redis.flushall()
        for viewer in range(PEOPLE):  # everyone reads after every step, as people do
            assert await world.all_pages(people[viewer], limit) == expected(viewer), viewer


async def test_cursors_are_stable_while_posts_arrive(world: World) -> None:
    reader, author = await world.user(), await world.user()
    await world.store.follow(world.ids.next_id(), reader.user_id, author.user_id)
    await world.fanout.followed(reader.user_id, author.user_id)
    old = [await world.post(author) for _ in range(5)]
    first = await world.feed.page(reader.user_id, before=None, limit=2)
    assert [p.post_id for p in first.posts] == old[::-1][:2]
    newer = [await world.post(author) for _ in range(3)]
    seen = [p.post_id for p in first.posts]
    before = first.next_position
    while before is not None:
        page = await world.feed.page(reader.user_id, before=before, limit=2)
        seen += [p.post_id for p in page.posts]
        before = page.next_position
    assert seen == old[::-1]  # nothing repeated, nothing skipped, the new ones not mixed in
    top = await world.feed.page(reader.user_id, before=None, limit=3)
    assert [p.post_id for p in top.posts] == newer[::-1]


async def test_a_warm_page_takes_two_round_trips_and_sees_a_new_pulled_author(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm page reads the pulled set, the viewer's sets and the pulled authors' recent
    posts in one round trip and what is cached about the candidates (authors included)
    in a second, and nothing from the store; an author pulled since the last page costs one more and is not missed."""
    reader, other, regular, star = [await world.user() for _ in range(4)]
    for fan, author in ((reader, regular), (reader, star)):
        await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
        await world.fanout.followed(fan.user_id, author.user_id)
    posts = [await world.post(regular), await world.post(star)]
    for _ in range(2):  # builds the sets, then fills the post cache and the cards
        assert [p.post_id for p in (await world.feed.page(reader.user_id, before=None,
                                                          limit=5)).posts] == posts[::-1]
    steps = 0
    execute = LeanRedis.execute

    async def counted(self: LeanRedis, calls: Sequence[Call]) -> list[Any]:
        nonlocal steps
        steps += 1
        return await execute(self, calls)

    monkeypatch.setattr(LeanRedis, "execute", counted)
    store_calls = world.store.operations
    page = await world.feed.page(reader.user_id, before=None, limit=5)
    assert [p.post_id for p in page.posts] == posts[::-1] and steps == 2
    assert world.store.operations == store_calls, "a warm page asks the store nothing"
    await world.store.follow(world.ids.next_id(), other.user_id, star.user_id)
    await world.fanout.followed(other.user_id, star.user_id)  # star is pulled from now on
    newest = await world.post(star)
    for expected_steps in (3, 2):
        steps = 0
        page = await world.feed.page(reader.user_id, before=None, limit=5)
        assert [p.post_id for p in page.posts] == [newest, *posts[::-1]]
        assert steps == expected_steps


async def test_posts_sharing_a_score_page_in_id_order(world: World) -> None:
    """Ids made in the same millisecond share a timeline score; pages that end inside such
    a group, in a pushed timeline and a pulled author's set alike, still split it exactly."""
    reader, other, regular, star = [await world.user() for _ in range(4)]
    for fan, author in ((reader, regular), (reader, star), (other, star)):
        await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
        await world.fanout.followed(fan.user_id, author.user_id)
    assert await world.fanout.classify(star.user_id)  # pulled at read time
    older = [await world.post(regular), await world.post(star)]
    group = ((world.ids.next_id() >> SCORE_SHIFT) + 1) << SCORE_SHIFT  # a score of its own
    shared = [await world.post((regular, star)[i % 2], group + i) for i in range(7)]
    assert len({score(p) for p in shared}) == 1
    await trio.sleep(0.002)
    newer = [await world.post(regular)]
    expected = sorted(older + shared + newer, reverse=True)
    for limit in (1, 2, 3, 4):
        assert await world.all_pages(reader, limit) == expected


async def test_views_follow_a_changed_entry_and_keep_viewers_apart(world: World) -> None:
    """Views reuse what they made of an unchanged cache entry, but a changed entry shows
    at once and one viewer's like state never reaches another's view."""
    author, fan = await world.user(), await world.user()
    await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
    await world.fanout.followed(fan.user_id, author.user_id)
    post_id = await world.post(author)
    await world.likes.like(fan, post_id)

    async def view(viewer: User) -> dict[str, object]:
        page = await world.feed.page(viewer.user_id, before=None, limit=5)
        [shown] = await world.reader.views(viewer, page.posts, counts=page.like_counts)
        return shown

    await view(fan)  # fills the post cache: from here on both read the same entry
    first = await view(fan)
    assert (first["liked_by_viewer"], first["like_count"]) == (True, 1)
    assert (await view(author))["liked_by_viewer"] is False
    assert first["liked_by_viewer"] is True  # the author's view was not made in it
    assert (await view(fan)) == first
    post = await world.store.get_post(post_id)
    assert post is not None
    await PostCache(world.redis, ttl_s=600).changed(post_id, replace(post, comment_count=3))
    again = await view(fan)
    assert again["comment_count"] == 3 and again["liked_by_viewer"] is True


async def test_a_deleted_posts_tombstone_outlives_a_racing_change(world: World) -> None:
    author = await world.user()
    post_id = await world.post(author)
    post = await world.store.get_post(post_id)
    assert post is not None
    cache = PostCache(world.redis, ttl_s=600)
    assert post_id in (await cache.lookup([post_id])).missing
    await cache.changed(post_id, replace(post, comment_count=1))
    assert (await cache.lookup([post_id])).found[post_id].comment_count == 1
    await cache.changed(post_id, None)  # deleted
    await cache.changed(post_id, replace(post, comment_count=2))  # a change that raced it
    await cache.fill({post_id: post}, {post_id: ""})
    assert (await cache.lookup([post_id])).gone == {post_id}


async def test_author_cards_are_filled_by_reads_and_never_undo_a_change(world: World) -> None:
    author, fan = await world.user(), await world.user()
    await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
    await world.fanout.followed(fan.user_id, author.user_id)
    await world.post(author)
    card = keys.author_card(author.user_id)
    assert await world.redis.get(card) is None
    first = await world.feed.page(fan.user_id, before=None, limit=5)  # caches the post...
    assert json.loads(first.authors[author.user_id]) == author_view(author)
    await world.feed.page(fan.user_id, before=None, limit=5)  # ...whose author fills the card
    assert await world.redis.get(card) == author_card(author)
    assert (await world.feed.page(fan.user_id, before=None, limit=5)).authors == first.authors

    cards = AuthorCards(world.redis, ttl_s=600)
    changed = replace(author, profile_pic="https://x.y/new.webp")
    await cards.changed(author.user_id, author_card(changed))
    shown = (await world.feed.page(fan.user_id, before=None, limit=5)).authors[author.user_id]
    assert json.loads(shown) == author_view(changed)
    await world.redis.delete([card])  # evicted; a fill that read before the change:
    await cards.fill({author.user_id: author_card(author)}, {author.user_id: ""})
    assert await world.redis.get(card) is None


async def test_following_sets_follow_changes_and_a_racing_rebuild_never_undoes_one(
        world: World) -> None:
    fan, first, second = await world.user(), await world.user(), await world.user()
    sets = following_sets(world.redis, ttl_s=3600)
    members = keys.following(fan.user_id)

    async def follow(author: User, *, on: bool = True) -> None:
        if on:
            await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
            await world.fanout.followed(fan.user_id, author.user_id)
        else:
            await world.store.unfollow(fan.user_id, author.user_id)
            await world.fanout.unfollowed(fan.user_id, author.user_id)

    await follow(first)
    assert not await world.redis.exists([members])  # built by a read, not by a follow
    await world.feed.page(fan.user_id, before=None, limit=5)
    assert await world.redis.smembers(members) == {"0", str(first.user_id)}
    await follow(second)
    await follow(first, on=False)
    assert await world.redis.smembers(members) == {"0", str(second.user_id)}

    seen = await sets.version(fan.user_id)  # a rebuild reads the store...
    followees = await world.store.following_ids(fan.user_id)
    await follow(first)  # ...a follow lands meanwhile...
    assert not await sets.rebuild(fan.user_id, followees, seen)  # ...so it is dropped
    assert await world.redis.smembers(members) == {"0", str(first.user_id), str(second.user_id)}
    await world.redis.delete([members])
    await world.feed.page(fan.user_id, before=None, limit=5)
    assert await world.redis.smembers(members) == {"0", str(first.user_id), str(second.user_id)}


async def test_spliced_json_views_are_the_views(world: World) -> None:
    """The feed's answer is spliced from kept JSON; it must parse to exactly `views`."""
    author, fan = await world.user(), await world.user()
    await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
    await world.fanout.followed(fan.user_id, author.user_id)
    photo = {"width": 1080, "height": 720, "placeholder": "data:image/webp;base64,AAA=",
             "blurhash": "LEHV6nWB2yk8", "taken_at": "2026-01-02T03:04:05Z", "camera": "X 100",
             "variants": {"320": {"webp": "media/a/320.webp", "jpeg": "media/a/320.jpg"},
                          "1080": {"webp": "media/a/1080.webp", "jpeg": "media/a/1080.jpg"}}}
    video = {**photo, "hls": "media/v/index.m3u8", "mp4": "media/v/web.mp4", "duration_s": 4.5}
    made = []
    for kind, media, caption in (("photo", photo, 'Quotes " and \\ and ünïcödé 🌅 #tag'),
                                 ("video", video, ""), ("photo", {}, "no media")):
        post_id = world.ids.next_id()
        await world.store.create_post(Post(
            post_id=post_id, author_id=author.user_id, kind=kind, status="processing",
            created_at=datetime.now(UTC), caption=caption, hashtags=("tag",), media=media))
        await world.store.set_post_status(post_id, "ready")
        await world.fanout.post_ready(post_id)
        made.append(post_id)
    await world.drain()
    await world.likes.like(fan, made[0])
    await world.redis.delete([keys.like_count(made[1])])  # a lost counter
    for _ in range(2):  # the second time from the post cache and the kept views
        page = await world.feed.page(fan.user_id, before=None, limit=5)
        spliced = await world.reader.views_json(page.posts, page.authors, page.like_counts,
                                                page.liked, page.private)
        views = await world.reader.views(fan, page.posts, counts=page.like_counts)
        assert json.loads(b"[" + b",".join(spliced) + b"]") == views
        assert [v["post_id"] for v in views] == [str(p) for p in reversed(made)]
        assert views[2]["liked_by_viewer"] is True and views[2]["like_count"] == 1
        assert views[1]["hls_url"] and views[0]["media_url"] is None


async def test_liked_by_viewer_comes_from_liked_sets_that_follow_every_like(
        world: World) -> None:
    author, fan, other = await world.user(), await world.user(), await world.user()
    for viewer in (fan, other):
        await world.store.follow(world.ids.next_id(), viewer.user_id, author.user_id)
        await world.fanout.followed(viewer.user_id, author.user_id)
    first, second = await world.post(author), await world.post(author)

    async def liked(viewer: User) -> set[int]:
        page = await world.feed.page(viewer.user_id, before=None, limit=5)
        views = await world.reader.views_json(page.posts, page.authors, page.like_counts,
                                              page.liked, page.private)
        return {int(v["post_id"]) for v in map(json.loads, views) if v["liked_by_viewer"]}

    await world.likes.like(fan, first)  # before the fan's set exists: the store has it
    assert await liked(fan) == {first} and await liked(other) == set()
    await world.likes.like(fan, second)
    await world.likes.unlike(fan, first)
    assert await liked(fan) == {second}
    await world.likes.like(fan, second)  # idempotent
    assert await liked(fan) == {second}
    await world.redis.flushall()
    assert await liked(fan) == {second} and await liked(other) == set()
    await world.likes.flush()
    await world.store.add_like(first, fan.user_id)  # a like whose Redis steps failed...
    assert await liked(fan) == {second}  # ...leaves the copy stale, until the client retries
    assert (await world.likes.like(fan, first)).liked
    assert await liked(fan) == {first, second}
    await world.likes.flush()  # and the retry had the count checked
    assert (await world.feed.page(fan.user_id, before=None, limit=5)).like_counts[first] == 1


async def test_a_lost_timeline_is_rebuilt_on_the_next_read(world: World) -> None:
    reader, authors = await world.user(), [await world.user() for _ in range(3)]
    made = []
    for author in authors:
        await world.store.follow(world.ids.next_id(), reader.user_id, author.user_id)
        await world.fanout.followed(reader.user_id, author.user_id)
        made += [await world.post(author) for _ in range(2)]
    await world.redis.flushall()
    assert await world.all_pages(reader, 4) == sorted(made, reverse=True)


async def test_muted_and_suspended_authors_leave_the_feed_and_come_back(world: World) -> None:
    """A mute takes the author out of the viewer's feed sources, a suspension out of
    everyone's (both read with the page, no store query), each undone by its reverse; the
    Redis copies lost with Redis are rebuilt from the store on the next read."""
    reader, muted, suspended, kept = [await world.user() for _ in range(4)]
    for author in (muted, suspended, kept):
        await world.store.follow(world.ids.next_id(), reader.user_id, author.user_id)
        await world.fanout.followed(reader.user_id, author.user_id)
    made = {a.user_id: await world.post(a) for a in (muted, suspended, kept)}
    assert await world.all_pages(reader, 2) == sorted(made.values(), reverse=True)
    suspensions = suspended_set(world.redis, ttl_s=3600)

    await world.store.mute(world.ids.next_id(), reader.user_id, muted.user_id)
    await world.fanout.muted(reader.user_id, muted.user_id)
    await world.store.set_suspended(suspended.user_id, True)
    await suspensions.changed(0, suspended.user_id, present=True)
    assert await world.all_pages(reader, 2) == [made[kept.user_id]]
    await world.redis.flushall()  # every copy lost: rebuilt from the store
    assert await world.all_pages(reader, 2) == [made[kept.user_id]]

    await world.store.unmute(reader.user_id, muted.user_id)
    await world.fanout.unmuted(reader.user_id, muted.user_id)
    await world.store.set_suspended(suspended.user_id, False)
    await suspensions.changed(0, suspended.user_id, present=False)
    assert await world.all_pages(reader, 2) == sorted(made.values(), reverse=True)
    # following someone one mutes leaves them out of the feed sources
    await world.store.unfollow(reader.user_id, muted.user_id)
    await world.fanout.unfollowed(reader.user_id, muted.user_id)
    await world.store.mute(world.ids.next_id(), reader.user_id, muted.user_id)
    await world.store.follow(world.ids.next_id(), reader.user_id, muted.user_id)
    await world.fanout.followed(reader.user_id, muted.user_id)
    assert made[muted.user_id] not in await world.all_pages(reader, 2)


async def test_fan_out_reaches_every_follower_in_batches(world: World) -> None:
    author = await world.user()
    fans = [await world.user() for _ in range(THRESHOLD - 1)]
    for fan in fans:
        await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
    post_id = await world.post(author)
    for fan in fans:
        page = await world.feed.page(fan.user_id, before=None, limit=5)
        assert [p.post_id for p in page.posts] == [post_id]


@pytest.mark.parametrize("cluster", [None])  # on one Valkey only: keeps the cluster lane short
async def test_thousands_of_concurrent_likes_end_exact(world: World) -> None:
    author = await world.user()
    post_id = await world.post(author)
    fans = [await world.user() for _ in range(1200)]

    async def like(fan: User) -> None:
        await world.likes.like(fan, post_id)

    async def unlike(fan: User) -> None:
        await world.likes.unlike(fan, post_id)

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for fan in fans:
                nursery.start_soon(like, fan)
                nursery.start_soon(like, fan)  # twice: idempotent
        async with trio.open_nursery() as nursery:
            for fan in fans[:300]:
                nursery.start_soon(unlike, fan)
                nursery.start_soon(unlike, fan)
    await world.likes.flush()
    assert (await world.store.get_post(post_id)).like_count == 900  # type: ignore[union-attr]
    assert await world.counters.totals([post_id]) == {post_id: 900}
    state = await world.likes.like(fans[0], post_id)
    assert (state.liked, state.like_count) == (True, 901)
    views = await world.reader.views(fans[0], [await world.store.get_post(post_id)])  # type: ignore[list-item]
    assert views[0]["liked_by_viewer"] and views[0]["like_count"] == 901
    views = await world.reader.views(fans[1], [await world.store.get_post(post_id)])  # type: ignore[list-item]
    assert not views[0]["liked_by_viewer"]


async def test_likes_survive_redis_losing_its_counters(world: World) -> None:
    author, fans = await world.user(), [await world.user() for _ in range(5)]
    post_id = await world.post(author)
    for fan in fans:
        await world.likes.like(fan, post_id)
    await world.likes.flush()
    await world.redis.flushall()
    state = await world.likes.like(author, post_id)  # the counters start again from nothing
    await world.likes.flush()
    assert await world.counters.totals([post_id]) == {post_id: 6}
    assert (await world.store.get_post(post_id)).like_count == 6  # type: ignore[union-attr]
    assert state.liked


async def test_posts_made_while_pulled_reach_followers_when_pushed_again(world: World) -> None:
    author, fans = await world.user(), [await world.user() for _ in range(THRESHOLD)]
    for fan in fans:
        await world.store.follow(world.ids.next_id(), fan.user_id, author.user_id)
        await world.fanout.followed(fan.user_id, author.user_id)
    assert await world.all_pages(fans[0], 3) == []  # builds the timeline
    pulled = await world.post(author)  # a celebrity now: not pushed, merged at read time
    assert await world.fanout.classify(author.user_id)
    assert await world.all_pages(fans[0], 3) == [pulled]
    await world.store.unfollow(fans[1].user_id, author.user_id)
    await world.fanout.unfollowed(fans[1].user_id, author.user_id)
    await world.drain()  # below the threshold: the backfill pushes what was pulled
    assert not await world.fanout.classify(author.user_id)
    pushed = await world.post(author)
    assert await world.all_pages(fans[0], 3) == [pushed, pulled]
    assert await world.all_pages(fans[1], 3) == []
