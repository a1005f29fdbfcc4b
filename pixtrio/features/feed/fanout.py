"""Fan-out: writing the home feed, by hybrid push and pull.

Authors with fewer followers than the celebrity threshold are pushed: once a post is
ready, a durable fan-out job adds its id to every follower's timeline. Authors at or above
it are pulled: their recent posts are merged into each follower's page at read time
(`service.FeedService`). A post can reach a timeline both ways around a threshold
crossing; pages are deduplicated, and an author who drops below the threshold has their
recent posts pushed (backfill), so crossing either way neither loses nor repeats a post.
Follows and unfollows merge or take out the followee's recent posts at once. Posts go only
to followers (so a private account's only where it may be seen; a block removes the
follow); live inserts skip those who mute the author.
"""

from __future__ import annotations

import logging

from pixtrio.features.feed.service import FeedService
from pixtrio.features.notify import Notifier
from pixtrio.features.posts.reader import PostReader
from pixtrio.features.visibility.service import Visibility
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.jobs import Job, JobQueue
from pixtrio.storage.redis.mirrored_sets import MirroredSets
from pixtrio.storage.redis.timelines import Timelines
from pixtrio.storage.types import Post, User

log = logging.getLogger("pixtrio.feed")


class FanOut:
    """The feed's writes, and the handler of the "fanout" job queue."""

    def __init__(self, store: MetadataStore, timelines: Timelines, feed: FeedService,
                 reader: PostReader, jobs: JobQueue, notifier: Notifier,
                 following: MirroredSets, *, celebrity_threshold: int) -> None:
        self._store = store
        self._timelines = timelines
        self._feed = feed
        self._reader = reader
        self._jobs = jobs
        self._notifier = notifier
        self._following = following
        self.celebrity_threshold = celebrity_threshold
        self._visibility = Visibility(store)

    # changes

    async def post_ready(self, post_id: int) -> None:
        """Queue the fan-out of a post that just became ready."""
        await self._jobs.add(f"insert:{post_id}")

    async def post_deleted(self, post: Post) -> None:
        """Take a deleted post out of its author's sets now and every follower's timeline
        soon (a fan-out job); reads never show it meanwhile."""
        await self._timelines.remove_from_author(post.author_id, [post.post_id])
        await self._jobs.add(f"remove:{post.post_id}", author=str(post.author_id))

    async def followed(self, follower_id: int, followee_id: int) -> None:
        """After a follow in the store: merge the followee's recent posts into the
        follower's timeline, and add the followee to the follower's feed sources unless
        the follower mutes them."""
        relation = (await self._store.relations(follower_id, [followee_id]))[followee_id]
        if not relation.muting:
            await self._following.changed(follower_id, followee_id, present=True)
        recent = await self._feed.recent_of(followee_id)
        await self._timelines.push_to_timelines([follower_id], recent)
        await self.classify(followee_id)

    async def unfollowed(self, follower_id: int, followee_id: int) -> None:
        """After an unfollow in the store: take the followee's recent posts out of the
        follower's timeline."""
        await self._following.changed(follower_id, followee_id, present=False)
        recent = await self._feed.recent_of(followee_id)
        await self._timelines.remove_from_timelines([follower_id], recent)
        await self.classify(followee_id)

    async def muted(self, viewer_id: int, author_id: int) -> None:
        """After a mute in the store: the author leaves the viewer's feed sources (their
        posts already in the timeline are hidden at read time; the follow stays)."""
        await self._following.changed(viewer_id, author_id, present=False)

    async def unmuted(self, viewer_id: int, author_id: int) -> None:
        """After an unmute in the store: a followed author is a feed source again."""
        if await self._store.following_among(viewer_id, [author_id]):
            await self._following.changed(viewer_id, author_id, present=True)

    async def forget_user(self, user_id: int) -> None:
        """Drop the user's timeline, recent set and following set (the account is gone)."""
        await self._timelines.drop_user(user_id)
        await self._following.drop(user_id)

    async def classify(self, author_id: int) -> bool:
        """Put the author in or out of the pulled set by their follower count now; True if
        pulled. An author leaving it gets their recent posts pushed (a backfill job)."""
        return await self._classify(author_id, await self._store.get_user(author_id))

    async def _classify(self, author_id: int, author: User | None) -> bool:
        celebrity = author is not None and author.followers_count >= self.celebrity_threshold
        if await self._timelines.set_celebrity(author_id, celebrity) and not celebrity:
            await self._jobs.add(f"backfill:{author_id}")
        return celebrity

    # the fan-out jobs

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
        await self._timelines.push_to_recent(author, [post_id])
        await self._timelines.push_to_timelines([author], [post_id])
        author_user = await self._store.get_user(author)
        pulled = await self._classify(author, author_user)
        followers = await self._store.follower_ids(author)
        if not pulled:
            await self._timelines.push_to_timelines(followers, [post_id])
            log.info("post %d fanned out to %d timelines", post_id, len(followers))
        if author_user is not None:  # online followers (and the author's devices) see it live
            [view] = await self._reader.views(None, [post], authors={author: author_user})
            audience = await self._visibility.feed_audience(author, followers)
            await self._notifier.feed_insert([author, *audience], view)

    async def _fan_out_removal(self, post_id: int, author: int) -> None:
        """The author's own sets were cleaned by `post_deleted` before this was queued."""
        followers = await self._store.follower_ids(author)
        await self._timelines.remove_from_timelines(followers, [post_id])
        await self._notifier.post_deleted([author, *followers], post_id)

    async def _backfill(self, author: int) -> None:
        recent = await self._feed.recent_of(author)
        followers = await self._store.follower_ids(author)
        await self._timelines.push_to_timelines(followers, recent)
