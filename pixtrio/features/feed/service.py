"""Reading the home feed: a page of the viewer's Redis timeline merged with the recent posts
of the pulled authors (celebrities) the viewer follows (the writing side is `fanout.py`).

Reading a page costs a constant number of round trips (docs/design.md: "The feed is
hybrid fan-out"): pages are filtered by the visibility rule (`visibility.rule.in_feed`) to
ready posts of the viewer or of someone the viewer follows now, does not mute, and who is
not suspended, so a stale or racing timeline entry is never shown; private authors' posts
get signed media URLs. Those facts come from Redis copies of the store (the viewer's
`following` set holds whom they follow less whom they mute; a block removes follows both
ways; the `suspended` and `private` sets), read with the page: no store query once warm.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pixtrio.features.posts.reader import PostReader
from pixtrio.features.views import author_card
from pixtrio.features.visibility.rule import in_feed
from pixtrio.storage.errors import StorageError
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.feed_reads import FeedReads, PageRead
from pixtrio.storage.redis.mirrored_sets import MirroredSets
from pixtrio.storage.redis.timelines import AUTHOR_RECENT_CAP, TIMELINE_CAP, Timelines
from pixtrio.storage.types import NO_RELATION, Post, Relation

log = logging.getLogger("pixtrio.feed")


FILTER_SLACK = 4
"""Candidates read beyond a page's size, for the few a page may filter out (deleted posts,
authors unfollowed since); a page that still comes up short ends with a cursor."""


MAX_PAGE_READS = 4
"""Reads of a page's Redis side before it is served as it is (each retry follows the
rebuild of a missing set)."""

MIRROR_REBUILD_TRIES = 5
"""Attempts at rebuilding a following or liked set while its user keeps changing it."""


@dataclass(frozen=True)
class FeedPage:
    posts: list[Post]
    next_position: int | None
    like_counts: dict[int, int]
    liked: set[int]
    """The posts the viewer likes."""
    authors: dict[int, bytes]
    """The `author_view` of each post's author, in JSON."""
    private: set[int]
    """The private authors among them, whose media URLs are signed."""


class FeedService:
    """Reading the home feed a page at a time (the writing is `fanout.FanOut`'s)."""

    def __init__(self, store: MetadataStore, timelines: Timelines, reader: PostReader,
                 reads: FeedReads, cards: AuthorCards, following: MirroredSets,
                 liked: MirroredSets, suspended: MirroredSets, private: MirroredSets) -> None:
        self._store = store
        self._cards = cards
        self._following = following
        self._liked = liked
        self._suspended = suspended
        self._private = private
        self._timelines = timelines
        self._reads = reads
        self._reader = reader

    async def page(self, viewer_id: int, *, before: int | None, limit: int,
                   token_hash_hex: str | None = None) -> FeedPage:
        """Ready posts of the viewer and of those the viewer follows, newest first, below
        `before`. Stable while posts arrive: positions are post ids. `token_hash_hex`, the
        token that signed the viewer in, lets the next `page_for` it start sooner."""
        if token_hash_hex is not None:
            self._reads.remember_token(token_hash_hex, viewer_id)
        page = await self.page_for(viewer_id, before=before, limit=limit)
        assert page is not None  # only a token can fail to sign in
        return page

    async def page_for(self, viewer: int | str, *, before: int | None,
                       limit: int) -> FeedPage | None:
        """`page` for a user id, or for a token's hash (hex) signed in from the
        session-token cache in the same round trip: None if the cache does not sign it in
        (not cached, or logged out), and the caller signs in the slow way."""
        want = limit + FILTER_SLACK  # candidates: a few may be filtered out
        read = await self._read_candidates(viewer, before, want)
        if read.viewer_id is None:
            return None
        viewer_id = read.viewer_id
        candidates, exhausted = read.candidates, read.exhausted
        posts = await self._reader.complete(read.lookup)
        suspended = read.suspended if read.suspended_built else await self._flagged_now(
            self._suspended, self._store.suspended_ids)
        privates = read.private if read.private_built else await self._flagged_now(
            self._private, self._store.private_ids)
        relations = {a: Relation(following=a in read.followed, owner_suspended=a in suspended,
                                 owner_private=a in privates)
                     for a in read.authors}
        unknown = {p.author_id for p in posts.values()} - read.authors
        if unknown:  # posts that were not cached: the page read could not see their authors
            relations |= await self._store.relations(viewer_id, unknown)
        visible = [post for p in candidates if (post := posts.get(p)) is not None
                   and post.status == "ready"
                   and in_feed(viewer_id, post.author_id, relations.get(post.author_id,
                                                                        NO_RELATION))]
        # private authors among all the page's, the uncached ones' included (from the store)
        private = {a for a, relation in relations.items() if relation.owner_private}
        if len(visible) > limit:
            return FeedPage(visible[:limit], visible[limit - 1].post_id, read.counts,
                            read.liked, await self._authors_of(visible[:limit], read), private)
        return FeedPage(visible, None if exhausted or not candidates else candidates[-1],
                        read.counts, read.liked, await self._authors_of(visible, read), private)

    async def _authors_of(self, posts: list[Post], read: PageRead) -> dict[int, bytes]:
        """The card (`author_view` in JSON) of each post's author: those the page read
        brought, the others from the store (and cached)."""
        authors = dict(read.cards)
        missing = {p.author_id for p in posts} - authors.keys()
        if missing:
            users = await self._store.get_users(missing)
            cards = {u: author_card(user) for u, user in users.items()}
            authors.update((u, card.encode()) for u, card in cards.items())
            await self._cards.fill(cards, read.card_generations)
        return authors

    async def _read_candidates(self, viewer: int | str, before: int | None,
                               want: int) -> PageRead:
        """The page's Redis side, normally two round trips; a missing set (following,
        liked, timeline or a pulled author's) is rebuilt from the store and the page read
        again. Raises `StorageError` if the following or liked set cannot be built."""
        for attempt in range(MAX_PAGE_READS):
            read = await self._reads.read_page(viewer, before=before, want=want)
            if read.viewer_id is None:
                return read
            viewer_id = viewer = read.viewer_id
            if not read.following_built:
                await self._rebuild_mirror(self._following, viewer_id, self._feed_sources)
            if not read.liked_built:
                await self._rebuild_mirror(self._liked, viewer_id, self._store.liked_post_ids)
            if not (read.following_built and read.liked_built):
                continue
            if (read.timeline_built and not read.unbuilt_pulled) or attempt == MAX_PAGE_READS - 1:
                return read
            if not read.timeline_built:
                await self._rebuild(viewer_id, timeline=True)
            for author in read.unbuilt_pulled:
                await self._rebuild(author, timeline=False)
        raise StorageError(f"the following or liked set of {viewer} could not be built")

    async def _feed_sources(self, user_id: int) -> list[int]:
        """Whose posts the user's feed shows, from the store: whom they follow, less whom
        they mute (what the `following` set holds)."""
        muted = set(await self._store.muted_ids(user_id))
        return [f for f in await self._store.following_ids(user_id) if f not in muted]

    @staticmethod
    async def _flagged_now(copy: MirroredSets,
                           flagged: Callable[[], Awaitable[list[int]]]) -> set[int]:
        """The users with an account-wide flag (suspended, private), from the store; its
        Redis copy was missing, and is rebuilt."""
        seen = await copy.version(0)
        users = await flagged()
        await copy.rebuild(0, users, seen)
        return set(users)

    async def _rebuild_mirror(self, sets: MirroredSets, user_id: int,
                              members_of: Callable[[int], Awaitable[list[int]]]) -> None:
        """Copy the user's members from the store into their set; retried while the user
        changes them under it."""
        for _ in range(MIRROR_REBUILD_TRIES):
            seen = await sets.version(user_id)
            if await sets.rebuild(user_id, await members_of(user_id), seen):
                return

    async def _rebuild(self, owner: int, *, timeline: bool) -> None:
        """Build a missing timeline (or author's recent set) from the metadata store."""
        if timeline:
            authors = [*await self._store.following_ids(owner), owner]
            recent = await self._store.recent_ready_post_ids(authors, limit=TIMELINE_CAP)
            await self._timelines.rebuild_timeline(owner, [post_id for post_id, _ in recent])
        else:
            recent = await self._store.recent_ready_post_ids([owner], limit=AUTHOR_RECENT_CAP)
            await self._timelines.rebuild_recent(owner, [post_id for post_id, _ in recent])
        log.info("rebuilt the %s of %d from %d posts",
                 "timeline" if timeline else "recent posts", owner, len(recent))

    async def recent_of(self, author_id: int) -> list[int]:
        """An author's recent ready posts, newest first (their set rebuilt if missing)."""
        recent = await self._timelines.recent_of(author_id)
        if not recent.built:
            await self._rebuild(author_id, timeline=False)
            recent = await self._timelines.recent_of(author_id)
        return recent.post_ids
