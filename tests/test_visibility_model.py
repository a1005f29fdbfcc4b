"""The BOLA matrix: a hypothesis state machine of a few users switching public and
private, following, asking, accepting and declining, blocking, muting, posting, commenting
and liking, checked after every step against a simple model of who may see what.

Runs the feature services in process (a real SQLite and a real Valkey, as
`test_feed.py` does) rather than a server, to fit thousands of steps in `make test`: the
machine runs in a worker thread and each step's calls go to the test's trio loop.
Checked after every step, for every viewer (each user and the signed-out): profile (and
the relation it shows), an owner's posts list, every post by id, every post's comments,
followers and following lists, and each user's whole feed; and that the media URLs shown
of a private author's post are signed, a public one's not. Routes call these same
services; the websocket replay is `test_visibility_api.py`'s.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import trio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from pixtrio.features.errors import NotFound
from pixtrio.storage.types import NewUser, Post, User
from tests.support.services import SIGNER, InProcess, in_process

R = TypeVar("R")

PEOPLE = 3
MAX_POSTS = 4
EXAMPLES = int(os.environ.get("PIXTRIO_TEST_BOLA_EXAMPLES") or 110)
"""Examples of the state machine; `PIXTRIO_TEST_BOLA_EXAMPLES` raises it for a long run."""
STEPS = 25
MIN_STEPS = 2000
"""Steps the whole run must take at least (hypothesis ends some examples early: they
average about 21 of `STEPS`)."""


@dataclass
class Model:
    """Who may see what, by the rules of API.md, on plain sets of user indexes."""

    private: list[bool] = field(default_factory=lambda: [False] * PEOPLE)
    follows: set[tuple[int, int]] = field(default_factory=set)
    requests: set[tuple[int, int]] = field(default_factory=set)
    blocks: set[tuple[int, int]] = field(default_factory=set)
    mutes: set[tuple[int, int]] = field(default_factory=set)
    posts: list[tuple[int, int]] = field(default_factory=list)  # (post id, author), oldest first
    comments: list[tuple[int, int, int]] = field(default_factory=list)  # (id, post id, author)

    def blocked(self, a: int | None, b: int) -> bool:
        return a is not None and ((a, b) in self.blocks or (b, a) in self.blocks)

    def profile(self, viewer: int | None, owner: int) -> bool:
        return viewer == owner or not self.blocked(viewer, owner)

    def content(self, viewer: int | None, owner: int) -> bool:
        return self.profile(viewer, owner) and (
            viewer == owner or not self.private[owner] or (viewer, owner) in self.follows)

    def feed(self, viewer: int) -> list[int]:
        return [p for p, author in reversed(self.posts)
                if author == viewer or ((viewer, author) in self.follows
                                        and not self.blocked(viewer, author)
                                        and (viewer, author) not in self.mutes)]

    def accept_all(self, owner: int) -> None:
        for requester, target in list(self.requests):
            if target == owner:
                self.requests.discard((requester, target))
                self.follows.add((requester, target))

    def cut(self, a: int, b: int) -> None:
        for pair in ((a, b), (b, a)):
            self.follows.discard(pair)
            self.requests.discard(pair)


PERSON = st.integers(0, PEOPLE - 1)


class VisibilityMachine(RuleBasedStateMachine):
    world: InProcess
    steps = 0

    def __init__(self) -> None:
        super().__init__()
        self.started = False
        self.model = Model()
        self.users: list[User] = self.run(self._people)

    async def _people(self) -> list[User]:
        people = []
        for _ in range(PEOPLE):
            user_id = self.world.ids.next_id()
            people.append(await self.world.store.create_user(NewUser(
                user_id, f"v{user_id}", f"v{user_id}@x.y", "hash", datetime.now(UTC))))
        return people

    def run(self, fn: Callable[..., Awaitable[R]], *args: Any) -> R:
        return trio.from_thread.run(fn, *args)

    def me(self, i: int) -> User:
        user = self.run(self.world.store.get_user, self.users[i].user_id)
        assert user is not None
        return user

    def name(self, i: int) -> str:
        return self.users[i].username

    def hidden(self, call: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> bool:
        """Whether the call raised `NotFound` (anything else it returns is dropped)."""
        async def attempt() -> bool:
            try:
                await call(*args, **kwargs)
            except NotFound:
                return True
            return False

        return self.run(attempt)

    # steps

    @rule(user=PERSON, private=st.booleans())
    def set_private(self, user: int, private: bool) -> None:
        self.run(self.world.graph.set_private, self.me(user), private)
        self.model.private[user] = private
        if not private:
            self.model.accept_all(user)

    @rule(a=PERSON, b=PERSON)
    def follow(self, a: int, b: int) -> None:
        if a == b:
            return
        m = self.model
        assert self.hidden(self.world.graph.follow, self.me(a), self.name(b)) == m.blocked(a, b)
        if m.blocked(a, b) or (a, b) in m.follows:
            return
        if m.private[b]:
            m.requests.add((a, b))
        else:
            m.follows.add((a, b))
        self.run(self.world.drain)

    @rule(a=PERSON, b=PERSON)
    def unfollow(self, a: int, b: int) -> None:
        if a != b:
            self.run(self.world.graph.unfollow, self.me(a), self.name(b))
            self.model.follows.discard((a, b))
            self.model.requests.discard((a, b))

    @rule(owner=PERSON, requester=PERSON, accept=st.booleans())
    def answer(self, owner: int, requester: int, accept: bool) -> None:
        m = self.model
        if accept:
            found = (requester, owner) in m.requests or (requester, owner) in m.follows
            hidden = self.hidden(self.world.graph.accept, self.me(owner), self.name(requester))
            assert hidden == (not found)
            if (requester, owner) in m.requests:
                m.requests.discard((requester, owner))
                m.follows.add((requester, owner))
        else:
            self.run(self.world.graph.decline, self.me(owner), self.name(requester))
            m.requests.discard((requester, owner))

    @rule(a=PERSON, b=PERSON, on=st.booleans())
    def block(self, a: int, b: int, on: bool) -> None:
        if a == b:
            return
        if on:
            self.run(self.world.graph.block, self.me(a), self.name(b))
            self.model.blocks.add((a, b))
            self.model.cut(a, b)
        else:
            self.run(self.world.graph.unblock, self.me(a), self.name(b))
            self.model.blocks.discard((a, b))

    @rule(a=PERSON, b=PERSON, on=st.booleans())
    def mute(self, a: int, b: int, on: bool) -> None:
        if a == b:
            return
        if on:
            self.run(self.world.graph.mute, self.me(a), self.name(b))
            self.model.mutes.add((a, b))
        else:
            self.run(self.world.graph.unmute, self.me(a), self.name(b))
            self.model.mutes.discard((a, b))

    @rule(author=PERSON)
    def post(self, author: int) -> None:
        if len(self.model.posts) >= MAX_POSTS:
            return
        self.model.posts.append((self.run(self._post, self.users[author]), author))

    async def _post(self, author: User) -> int:
        post_id = self.world.ids.next_id()
        post = Post(post_id=post_id, author_id=author.user_id, kind="photo",
                    status="processing", created_at=datetime.now(UTC),
                    media={"variants": {"320": {"webp": f"p/{post_id}/t/320.webp"}}})
        await self.world.store.create_post(post)
        await self.world.store.set_post_status(post.post_id, "ready")
        await self.world.fanout.post_ready(post.post_id)
        await self.world.drain()
        return post.post_id

    @rule(user=PERSON, which=st.integers(0, MAX_POSTS - 1), like=st.booleans())
    def interact(self, user: int, which: int, like: bool) -> None:
        """A comment or a like: refused (404) exactly when the post's content is hidden."""
        if not self.model.posts:
            return
        post_id, author = self.model.posts[which % len(self.model.posts)]
        allowed = self.model.content(user, author)
        if like:
            assert self.hidden(self.world.likes.like, self.me(user), post_id) == (not allowed)
            return
        refused = self.hidden(self._comment, user, post_id)
        assert refused == (not allowed)

    async def _comment(self, user: int, post_id: int) -> None:
        viewer = await self.world.store.get_user(self.users[user].user_id)
        assert viewer is not None
        comment = await self.world.comments.create(viewer, post_id, "hi")
        self.model.comments.append((comment.comment_id, post_id, user))

    # the matrix

    @invariant()
    def no_leaks(self) -> None:
        if self.started:  # not the check of the initial state
            VisibilityMachine.steps += 1
        self.started = True
        self.run(self._check)

    async def _check(self) -> None:
        m, w = self.model, self.world
        fresh = await w.store.get_users([u.user_id for u in self.users])
        users = [fresh[u.user_id] for u in self.users]
        index = {u.user_id: i for i, u in enumerate(users)}
        for v in [None, *range(PEOPLE)]:
            viewer = users[v] if v is not None else None
            for o, owner in enumerate(users):
                try:
                    found, relation = await w.graph.profile(viewer, owner.username)
                except NotFound:
                    assert not m.profile(v, o), (v, o)
                else:
                    assert m.profile(v, o), (v, o)
                    if v is not None and v != o:
                        assert (relation.following, relation.requested, relation.blocking,
                                relation.muting) == ((v, o) in m.follows, (v, o) in m.requests,
                                                     (v, o) in m.blocks, (v, o) in m.mutes)
                    assert found.is_private == m.private[o]
                await self._check_lists(viewer, v, o, owner, index)
            for post_id, author in m.posts:
                await self._check_post(viewer, v, post_id, author, index)
            if v is not None:
                assert await self._feed(users[v]) == m.feed(v), v

    async def _check_lists(self, viewer: User | None, v: int | None, o: int, owner: User,
                           index: dict[int, int]) -> None:
        m, w = self.model, self.world
        allowed = m.content(v, o)
        try:
            page = await w.posts.by_author(viewer, owner, before=None, limit=MAX_POSTS + 1)
        except NotFound:
            assert not allowed, ("posts", v, o)
        else:
            assert allowed, ("posts", v, o)
            assert [p.post_id for p in page.items] == [p for p, a in reversed(m.posts) if a == o]
        for listing, edge in ((w.graph.followers, lambda a, b: (a, b)),
                              (w.graph.following, lambda a, b: (b, a))):
            try:
                users = await listing(viewer, owner.username, before=None, limit=PEOPLE + 1)
            except NotFound:
                assert not allowed, (listing, v, o)
            else:
                assert allowed, (listing, v, o)
                assert {index[u.user_id] for u in users.items} == \
                    {x for x in range(PEOPLE) if edge(x, o) in m.follows}

    async def _check_post(self, viewer: User | None, v: int | None, post_id: int, author: int,
                          index: dict[int, int]) -> None:
        m, w = self.model, self.world
        allowed = m.content(v, author)
        try:
            post = await w.posts.get(viewer, post_id)
        except NotFound:
            assert not allowed, ("post", v, post_id)
        else:
            assert allowed, ("post", v, post_id)
            [view] = await w.reader.views(viewer, [post])
            self._check_media(view, author)
        try:
            page = await w.comments.page(viewer, post_id, after=None, limit=100)
        except NotFound:
            assert not allowed, ("comments", v, post_id)
        else:
            assert allowed, ("comments", v, post_id)
            assert [c.comment_id for c, _ in page.comments] == [
                c for c, p, a in m.comments if p == post_id and m.profile(v, a)]

    async def _feed(self, viewer: User) -> list[int]:
        page = await self.world.feed.page(viewer.user_id, before=None, limit=MAX_POSTS + 1)
        views = await self.world.reader.views_json(page.posts, page.authors, page.like_counts,
                                                   page.liked, page.private)
        authors = dict((p, a) for p, a in self.model.posts)
        for view in map(orjson.loads, views):
            self._check_media(view, authors[int(view["post_id"])])
        return [p.post_id for p in page.posts]

    def _check_media(self, view: dict[str, Any], author: int) -> None:
        """A private author's media URL carries a valid signature; a public one's none."""
        path, _, query = view["media_url"].partition("?")
        if not self.model.private[author]:
            assert query == "", view
            return
        args = dict(pair.split("=", 1) for pair in query.split("&"))
        assert SIGNER.verify(path, args.get("exp"), args.get("sig"), time.time()), view


async def test_no_one_sees_what_the_rule_hides(tmp_path: Path) -> None:
    """At least `MIN_STEPS` steps, each followed by the whole matrix: 0 leaks."""
    async with in_process(tmp_path, celebrity_threshold=1000) as world:
        VisibilityMachine.world = world
        VisibilityMachine.steps = 0
        machine_settings = settings(
            max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
            suppress_health_check=list(HealthCheck))
        await trio.to_thread.run_sync(
            lambda: run_state_machine_as_test(VisibilityMachine, settings=machine_settings))
    assert VisibilityMachine.steps >= MIN_STEPS, VisibilityMachine.steps
    print(f"BOLA matrix: {VisibilityMachine.steps} steps, 0 leaks")

