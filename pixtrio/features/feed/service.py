"""The home feed: hybrid fan-out into Redis timelines, merged with pulled celebrities.

Authors with fewer followers than the celebrity threshold are pushed: once a post is
ready, a durable fan-out job adds its id to every follower's timeline. Authors at or above
it are pulled: their recent posts are merged into each follower's page at read time. A
post can reach a timeline both ways around a threshold crossing; pages are deduplicated,
and an author who drops below the threshold has their recent posts pushed (backfill), so
crossing either way neither loses nor repeats a post.

Reading a page costs a constant number of round trips (docs/design.md: "The feed is
hybrid fan-out"): pages are filtered to ready posts by the viewer or someone the viewer
follows now, so a stale or racing timeline entry is never shown.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pixtrio.features.notify import Notifier
from pixtrio.features.posts.reader import PostReader
from pixtrio.features.views import author_card, author_view
from pixtrio.storage.errors import StorageError
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.feed_reads import FeedReads, PageRead
from pixtrio.storage.redis.jobs import Job, JobQueue
from pixtrio.storage.redis.mirrored_sets import MirroredSets
from pixtrio.storage.redis.timelines import AUTHOR_RECENT_CAP, TIMELINE_CAP, Timelines
from pixtrio.storage.types import Post, User

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


class FeedService:
    def __init__(self, store: MetadataStore, timelines: Timelines, reader: PostReader,
                 jobs: JobQueue, notifier: Notifier, reads: FeedReads, cards: AuthorCards,
                 following: MirroredSets, liked: MirroredSets, *,
                 celebrity_threshold: int) -> None:
        self._store = store
        self._cards = cards
        self._following = following
        self._liked = liked
        self._timelines = timelines
        self._reads = reads
        self._reader = reader
        self._jobs = jobs
        self._notifier = notifier
        self.celebrity_threshold = celebrity_threshold

    # reading

    async def page(self, viewer_id: int, *, before: int | None, limit: int) -> FeedPage:
        """Ready posts of the viewer and of those the viewer follows, newest first, below
        `before`. Stable while posts arrive: positions are post ids."""
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
        allowed = read.followed | {viewer_id}
        unknown = {p.author_id for p in posts.values()} - read.authors - allowed
        if unknown:  # posts that were not cached: the script could not see their authors
            allowed |= await self._store.following_among(viewer_id, unknown)
        visible = [posts[p] for p in candidates
                   if p in posts and posts[p].status == "ready" and posts[p].author_id in allowed]
        if len(visible) > limit:
            return FeedPage(visible[:limit], visible[limit - 1].post_id, read.counts,
                            read.liked, await self._authors_of(visible[:limit], read))
        return FeedPage(visible, None if exhausted or not candidates else candidates[-1],
                        read.counts, read.liked, await self._authors_of(visible, read))

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
                await self._rebuild_mirror(self._following, viewer_id,
                                           self._store.following_ids)
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
            key, cap = keys.timeline(owner), TIMELINE_CAP
            authors = [*await self._store.following_ids(owner), owner]
        else:
            key, cap, authors = keys.author_recent(owner), AUTHOR_RECENT_CAP, [owner]
        recent = await self._store.recent_ready_post_ids(authors, limit=cap)
        await self._timelines.rebuild(key, [post_id for post_id, _ in recent], cap=cap)
        log.info("rebuilt %s from %d posts", key, len(recent))

    async def _recent_of(self, author_id: int) -> list[int]:
        """An author's recent ready posts, newest first (their set rebuilt if missing)."""
        key = keys.author_recent(author_id)
        [recent] = await self._timelines.newest([key], count=AUTHOR_RECENT_CAP)
        if not recent.built:
            await self._rebuild(author_id, timeline=False)
            [recent] = await self._timelines.newest([key], count=AUTHOR_RECENT_CAP)
        return recent.post_ids

    # changes

    async def post_ready(self, post_id: int) -> None:
        """Queue the fan-out of a post that just became ready."""
        await self._jobs.add(f"insert:{post_id}")

    async def post_deleted(self, post: Post) -> None:
        """Take a deleted post out of its author's sets now and every follower's timeline
        soon (a fan-out job); reads never show it meanwhile."""
        await self._timelines.remove([keys.author_recent(post.author_id),
                                      keys.timeline(post.author_id)], [post.post_id])
        await self._jobs.add(f"remove:{post.post_id}", author=str(post.author_id))

    async def followed(self, follower_id: int, followee_id: int) -> None:
        """After a follow in the store: merge the followee's recent posts into the
        follower's timeline."""
        await self._following.changed(follower_id, followee_id, present=True)
        recent = await self._recent_of(followee_id)
        await self._timelines.push([keys.timeline(follower_id)], recent, cap=TIMELINE_CAP)
        await self.classify(followee_id)

    async def unfollowed(self, follower_id: int, followee_id: int) -> None:
        """After an unfollow in the store: take the followee's recent posts out of the
        follower's timeline."""
        await self._following.changed(follower_id, followee_id, present=False)
        recent = await self._recent_of(followee_id)
        await self._timelines.remove([keys.timeline(follower_id)], recent)
        await self.classify(followee_id)

    async def classify(self, author_id: int) -> bool:
        """Put the author in or out of the pulled set by their follower count now; True if
        pulled. An author leaving it gets their recent posts pushed (a backfill job)."""
        return await self._classify(author_id, await self._store.get_user(author_id))

    async def _classify(self, author_id: int, author: User | None) -> bool:
        celebrity = author is not None and author.followers_count >= self.celebrity_threshold
        if await self._timelines.set_celebrity(author_id, celebrity) and not celebrity:
            await self._jobs.add(f"backfill:{author_id}")
        return celebrity

    # fan-out jobs

    async def handle(self, job: Job) -> None:
        """Run one fan-out job (the `JobHandler` of the "fanout" queue); idempotent."""
        action, _, raw_id = job.key.partition(":")
        if action == "insert":
            await self._fan_out(int(raw_id))
        elif action == "remove":
            await self._fan_out_removal(int(raw_id), int(job.fields["author"]))
        elif action == "backfill":
            await self._backfill(int(raw_id))
        else:
            log.warning("unknown fan-out job %r", job.key)

    async def give_up(self, job: Job, reason: str) -> None:
        log.error("fan-out job %s given up: %s", job.key, reason)

    async def _fan_out(self, post_id: int) -> None:
        post = await self._store.get_post(post_id)
        if post is None or post.status != "ready":
            return
        author = post.author_id
        await self._reader.start_counting(post_id)
        await self._timelines.push([keys.author_recent(author)], [post_id], cap=AUTHOR_RECENT_CAP)
        await self._timelines.push([keys.timeline(author)], [post_id], cap=TIMELINE_CAP)
        author_user = await self._store.get_user(author)
        pulled = await self._classify(author, author_user)
        followers = await self._store.follower_ids(author)
        if not pulled:
            await self._timelines.push([keys.timeline(f) for f in followers], [post_id],
                                       cap=TIMELINE_CAP)
            log.info("post %d fanned out to %d timelines", post_id, len(followers))
        if author_user is not None:  # online followers (and the author's devices) see it live
            [view] = await self._reader.views(None, [post],
                                              authors={author: author_view(author_user)})
            await self._notifier.feed_insert([author, *followers], view)

    async def _fan_out_removal(self, post_id: int, author: int) -> None:
        """The author's own sets were cleaned by `post_deleted` before this was queued."""
        followers = await self._store.follower_ids(author)
        await self._timelines.remove([keys.timeline(f) for f in followers], [post_id])
        await self._notifier.post_deleted([author, *followers], post_id)

    async def _backfill(self, author: int) -> None:
        recent = await self._recent_of(author)
        followers = await self._store.follower_ids(author)
        await self._timelines.push([keys.timeline(f) for f in followers], recent,
                                   cap=TIMELINE_CAP)
