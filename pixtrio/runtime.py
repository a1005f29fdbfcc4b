"""One server process: start the stores, serve HTTP, and stop it all cleanly."""

from __future__ import annotations

import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import trio
from hypercorn.config import Config as HypercornConfig

from pixtrio.actors.ffmpeg import find_ffmpeg
from pixtrio.actors.hub import Hub
from pixtrio.actors.job_runner import JobRunner
from pixtrio.actors.like_flusher import LikeFlusher
from pixtrio.actors.session import SessionSettings
from pixtrio.actors.supervisor import ProcessSupervisor
from pixtrio.actors.sweeper import StuckPostSweeper
from pixtrio.actors.worker_pool import WorkerPool, open_worker_pool
from pixtrio.codecs.photos import configure_worker
from pixtrio.config import Settings
from pixtrio.edge import listener
from pixtrio.edge.app import create_app
from pixtrio.edge.cursors import Cursors
from pixtrio.edge.framing import SingleFraming
from pixtrio.edge.realtime import Realtime
from pixtrio.edge.services import Services
from pixtrio.edge.streaming import StreamingBodies
from pixtrio.edge.websocket import WebsocketEndpoint, is_upgrade
from pixtrio.features.accounts.avatars import AvatarService
from pixtrio.features.accounts.deletion import AccountDeletion
from pixtrio.features.accounts.passwords import Passwords
from pixtrio.features.accounts.revocation import Revocations
from pixtrio.features.accounts.service import AccountService
from pixtrio.features.accounts.sessions import Sessions
from pixtrio.features.comments.service import CommentService
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.feed.service import FeedService
from pixtrio.features.graph.service import GraphService
from pixtrio.features.ids import MAX_WORKER, IdGenerator
from pixtrio.features.likes.service import LikeService
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.photo_job import PhotoJobs
from pixtrio.features.media.privacy import MediaPrivacy
from pixtrio.features.media.signing import MediaSigner
from pixtrio.features.media.video_job import VideoJobs, VideoSettings
from pixtrio.features.moderation.audit import AuditLog
from pixtrio.features.moderation.reports import ReportService
from pixtrio.features.moderation.roles import RoleService
from pixtrio.features.moderation.service import ModerationService
from pixtrio.features.notify import Notifier
from pixtrio.features.posts.reader import PostReader
from pixtrio.features.posts.service import PostService
from pixtrio.features.posts.uploads import UploadService
from pixtrio.features.ratelimit import RateLimiter, budget
from pixtrio.features.safety.hash_blocklist import HashBlocklist
from pixtrio.features.visibility.service import Visibility
from pixtrio.secret import load_or_create_secret
from pixtrio.storage.blobs.filesystem import FilesystemBlobStore
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.author_cards import AuthorCards
from pixtrio.storage.redis.blocklist_version import BlocklistVersion
from pixtrio.storage.redis.bus import Bus
from pixtrio.storage.redis.client import Redis, RedisAddress, open_redis, ping
from pixtrio.storage.redis.embedded import EmbeddedValkey, find_valkey_binary, wait_until_answers
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.redis.feed_reads import FeedReads
from pixtrio.storage.redis.jobs import JobQueue
from pixtrio.storage.redis.lean import LeanRedis, open_lean_redis
from pixtrio.storage.redis.leases import hold_worker_lease, settle_new_lease_table
from pixtrio.storage.redis.like_counters import LikeCounters
from pixtrio.storage.redis.login_failures import LoginFailures
from pixtrio.storage.redis.mirrored_sets import (
    following_sets,
    liked_sets,
    private_set,
    suspended_set,
)
from pixtrio.storage.redis.post_cache import PostCache
from pixtrio.storage.redis.ratelimit import GcraLimiter
from pixtrio.storage.redis.session_tokens import SessionTokens
from pixtrio.storage.redis.timelines import Timelines
from pixtrio.storage.redis.upload_claims import UploadClaims
from pixtrio.storage.sqlite import SqliteStore
from pixtrio.storage.types import Role, User

log = logging.getLogger("pixtrio")

FANOUT_VISIBILITY_TIMEOUT = 60.0
"""Seconds before a fan-out job taken by a process that died is run again."""
ACCOUNT_DELETION_VISIBILITY_TIMEOUT = 120.0
"""Seconds before an account deletion job that failed, or whose process died, runs again
(a large account's job runs for a while: not so soon that a second worker joins it)."""
STORE_CLOSE_SECONDS = 10.0
"""Seconds the metadata store may take to close at shutdown before it is left open."""


async def start_embedded_valkey(nursery: trio.Nursery, settings: Settings) -> RedisAddress:
    """Start a supervised Valkey in `nursery`; returns once it answers."""
    valkey = EmbeddedValkey.in_data_dir(settings.data_dir, find_valkey_binary(settings.valkey_binary))
    await trio.to_thread.run_sync(valkey.stop_stale)
    supervisor = ProcessSupervisor(
        "valkey",
        valkey.command(),
        ready=partial(wait_until_answers, valkey.socket),
        log_path=valkey.logfile,
    )
    await nursery.start(supervisor.run)
    return RedisAddress(unix_socket=str(valkey.socket))


@asynccontextmanager
async def open_metadata_store(settings: Settings) -> AsyncIterator[MetadataStore]:
    """The configured metadata store, closed on exit (also when cancelled), shielded for at
    most `STORE_CLOSE_SECONDS`."""
    store: MetadataStore
    if settings.mongodb_url:
        from pixtrio.storage.mongo import MongoStore

        store = await MongoStore.connect(settings.mongodb_url)
    else:
        store = await SqliteStore.open(settings.data_dir / "metadata.db")
    try:
        yield store
    finally:
        with trio.move_on_after(STORE_CLOSE_SECONDS, shield=True):
            await store.aclose()


@asynccontextmanager
async def open_id_generator(redis: Redis[str], worker_id: int | None, *,
                            launched_redis: bool) -> AsyncIterator[IdGenerator]:
    """Ids on the configured worker field, or on one leased from Redis and renewed until
    the block exits (then released). `launched_redis`: this process just started `redis`
    (the embedded Valkey), so if it is empty, no earlier process held a field in it and
    the lease table is settled at once (see `leases`)."""
    if worker_id is not None:
        yield IdGenerator(worker_id)
        return
    if launched_redis:
        await settle_new_lease_table(redis)
    async with hold_worker_lease(redis, slots=MAX_WORKER + 1) as lease:
        yield IdGenerator(lease.current)


def video_settings(settings: Settings) -> VideoSettings:
    return VideoSettings(
        ffmpeg=find_ffmpeg(settings.ffmpeg), preset=settings.video_preset,
        max_seconds=settings.max_video_seconds, cpu_limit=settings.video_cpu_limit,
        time_limit=settings.video_job_timeout,
        memory_limit=settings.video_memory_limit,
    )


def build_services(
    settings: Settings,
    secret: bytes,
    store: MetadataStore,
    redis: Redis[str],
    lean: LeanRedis,
    redis_name: str,
    ids: IdGenerator,
    pool: WorkerPool,
) -> Services:
    """Every service of one process, wired to the stores it uses."""
    blobs = FilesystemBlobStore(settings.data_dir / "media")
    media_keys = MediaKeys(secret)
    media_signer = MediaSigner(secret, ttl_s=settings.media_url_ttl)
    jobs = JobQueue(redis, "media")
    video_jobs = JobQueue(redis, "video")
    fanout_jobs = JobQueue(redis, "fanout")
    cache = PostCache(redis, ttl_s=settings.post_cache_ttl)
    cards = AuthorCards(redis, ttl_s=settings.post_cache_ttl)
    liked = liked_sets(redis, ttl_s=settings.timeline_ttl)
    counters = LikeCounters(redis)
    reader = PostReader(store, cache, counters, media_keys, media_signer)
    events = EventStreams(lean, keep_s=settings.events_keep, maxlen=settings.events_maxlen)
    notifier = Notifier(events)
    timelines = Timelines(redis, lean, ttl_s=settings.timeline_ttl)
    following = following_sets(redis, ttl_s=settings.timeline_ttl)
    suspended = suspended_set(redis, ttl_s=settings.timeline_ttl)
    private = private_set(redis, ttl_s=settings.timeline_ttl)
    feed = FeedService(store, timelines, reader,
                       FeedReads(lean, ttl_s=settings.timeline_ttl,
                                 token_ttl_s=settings.session_token_ttl), cards, following, liked,
                       suspended, private)
    fanout = FanOut(store, timelines, feed, reader, fanout_jobs, notifier, following,
                    celebrity_threshold=settings.celebrity_threshold)
    posts = PostService(store, blobs, jobs, video_jobs, media_keys, fanout, cache, counters)
    blocklist = HashBlocklist(store, ids, BlocklistVersion(redis), blobs, pool)
    limits = RateLimiter(GcraLimiter(redis), settings.rate_limits)
    session_tokens = SessionTokens(redis, lean, ttl_s=settings.session_token_ttl)
    failures = LoginFailures(
        redis, per_address=budget(settings.rate_limits["login_failures_address"]),
        per_account=budget(settings.rate_limits["login_failures_account"]),
        remember_ms=settings.known_address_ttl * 1000)
    revocations = Revocations(store, session_tokens, events)
    sessions = Sessions(store, revocations)
    account_jobs = JobQueue(redis, "accounts")
    accounts = AccountService(store, ids, Passwords(), failures, session_tokens,
                              sessions, revocations, account_jobs)
    graph = GraphService(store, ids, fanout, notifier, private)
    likes = LikeService(store, counters, liked, posts, notifier)
    comments = CommentService(store, ids, posts, cache, notifier)
    audit = AuditLog(store, ids)
    realtime = Realtime(
        hub=Hub(Bus(redis, sharded=settings.redis_cluster), events, keep_interval=settings.events_keep / 3),
        events=events, notifier=notifier, sign_in=accounts.session_sign_in,
        still_signed_in=accounts.session_still_signed_in,
        settings=SessionSettings(
            auth_timeout=settings.ws_auth_timeout, ping_interval=settings.ws_ping_interval,
            ping_timeout=settings.ws_ping_timeout, mailbox=settings.ws_mailbox,
            rate=settings.ws_rate, burst=settings.ws_burst),
        screen=Visibility(store).replayable,
    )
    return Services(
        settings=settings,
        store=store,
        redis_ping=partial(ping, redis),
        redis_description=redis_name,
        ids=ids,
        cursors=Cursors(secret),
        accounts=accounts,
        limits=limits,
        sessions=sessions,
        account_jobs=account_jobs,
        account_deletion=AccountDeletion(store, posts, comments, likes, graph, revocations,
                                         events, session_tokens, blobs, media_keys),
        graph=graph,
        blobs=blobs,
        media_keys=media_keys,
        media_signer=media_signer,
        media_privacy=MediaPrivacy(store, ttl_s=settings.media_privacy_ttl),
        media_jobs=jobs,
        video_jobs=video_jobs,
        uploads=UploadService(secret, ids, blobs, UploadClaims(redis), media_keys,
                              max_bytes=settings.max_upload_bytes,
                              max_video_bytes=settings.max_video_bytes),
        posts=posts,
        avatars=AvatarService(store, blobs, pool, media_keys, ids, session_tokens, cards,
                              blocklist, max_bytes=settings.max_avatar_bytes),
        reader=reader,
        feed=feed,
        fanout=fanout,
        fanout_jobs=fanout_jobs,
        likes=likes,
        comments=comments,
        reports=ReportService(store, ids, posts),
        moderation=ModerationService(store, posts, comments, revocations, audit, suspended),
        roles=RoleService(store, audit),
        audit=audit,

        realtime=realtime,
        hash_blocklist=blocklist,
    )


async def serve_http(
    services: Services, shutdown: trio.Event, task_status: trio.TaskStatus[list[str]]
) -> list[str]:
    """Serve HTTP until `shutdown` is set and in-flight requests have drained; the binds."""
    settings = services.settings
    config = HypercornConfig()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.graceful_timeout = settings.shutdown_grace
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.backlog = LISTEN_BACKLOG
    app = SingleFraming(StreamingBodies(create_app(services), services))
    websocket = WebsocketEndpoint(services.realtime).serve
    async with trio.open_nursery() as http:  # exits once connections have drained
        http.start_soon(close_sockets_on, shutdown, services.realtime.hub)
        binds: list[str] = await http.start(partial(
            listener.serve, app, config, websocket, is_upgrade, shutdown=shutdown
        ))
        log.info(
            "pixtrio listening on %s", ", ".join(binds),
            extra={"listen": binds, "metadata": services.store.name,
                   "redis": services.redis_description, "blobs": services.blobs.name,
                   "data_dir": str(settings.data_dir.resolve()), "worker_id": services.ids.worker_id,
                   "media_workers": settings.media_workers},
        )
        task_status.started(binds)
    return binds


LISTEN_BACKLOG = 2048
"""Connections the kernel queues before they are accepted (a reconnect storm)."""


def tune_garbage_collector() -> None:
    """Move what start-up allocated out of the collector's sight and collect the young
    generation less often: with ten thousand sessions a process holds millions of
    long-lived objects, and default thresholds paused it for a second every few seconds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 100)


GC_YOUNG_THRESHOLD = 50_000


async def close_sockets_on(shutdown: trio.Event, hub: Hub) -> None:
    """Once shutdown starts, close every websocket with 1001 so serving can drain."""
    await shutdown.wait()
    hub.close_all()


async def run_server(
    settings: Settings,
    *,
    shutdown: trio.Event,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until `shutdown` is set, then stop accepting, finish requests and close stores.

    Reports the bound addresses once the server accepts connections.
    """
    secret = load_or_create_secret(settings.data_dir)
    async with trio.open_nursery() as nursery:
        if settings.redis_url:
            address = RedisAddress(url=settings.redis_url)
            redis_name = f"redis {'cluster ' if settings.redis_cluster else ''}at {settings.redis_url}"
        else:
            address = await start_embedded_valkey(nursery, settings)
            redis_name = f"embedded valkey at {address.describe()}"
        cluster = settings.redis_cluster
        async with open_redis(address, cluster=cluster) as redis, \
                open_lean_redis(address, cluster=cluster) as lean, \
                open_metadata_store(settings) as store, \
                open_id_generator(redis, settings.worker_id,
                                  launched_redis=not settings.redis_url) as ids:
            async with open_worker_pool(
                size=settings.media_workers,
                time_limit=settings.media_job_timeout,
                init=partial(configure_worker, settings.media_memory_limit),
            ) as pool:
                services = build_services(settings, secret, store, redis, lean, redis_name, ids,
                                          pool)
                photos = JobRunner(
                    services.media_jobs,
                    PhotoJobs(store, services.blobs, pool, services.media_keys, services.fanout,
                              services.hash_blocklist),
                    loops=settings.media_workers,
                    visibility_timeout=settings.media_visibility_timeout,
                )
                videos = JobRunner(
                    services.video_jobs,
                    VideoJobs(store, services.blobs, pool, services.media_keys,
                              video_settings(settings), services.fanout,
                              services.hash_blocklist),
                    loops=settings.video_workers,
                    visibility_timeout=settings.video_visibility_timeout,
                )
                fanout = JobRunner(services.fanout_jobs, services.fanout, loops=2,
                                   visibility_timeout=FANOUT_VISIBILITY_TIMEOUT)
                deletions = JobRunner(services.account_jobs, services.account_deletion, loops=1,
                                      visibility_timeout=ACCOUNT_DELETION_VISIBILITY_TIMEOUT)
                async with trio.open_nursery() as media:
                    await media.start(photos.run)
                    await media.start(videos.run)
                    await media.start(fanout.run)
                    await media.start(deletions.run)
                    await media.start(LikeFlusher(services.likes.flush,
                                                  interval=settings.like_flush_interval).run)
                    await media.start(services.realtime.hub.run)
                    await media.start(StuckPostSweeper(
                        store, {"photo": services.media_jobs, "video": services.video_jobs},
                        stuck_after=settings.stuck_after).run)
                    tune_garbage_collector()
                    binds = await serve_http(services, shutdown, task_status)
                    log.info("pixtrio stopped serving %s", ", ".join(binds))
                    media.cancel_scope.cancel()  # unfinished jobs are reclaimed later
        nursery.cancel_scope.cancel()  # connections have drained; stop Valkey last
    log.info("pixtrio stopped")


CLI_WORKER_ID = MAX_WORKER
"""The id worker field of a command-line action when PIXTRIO_WORKER_ID is unset: it holds
no lease, so an id it mints could, in the same millisecond, equal one minted by the
server process leasing this field; the write then fails and the command can be re-run."""


async def grant_role(settings: Settings, username: str, role: Role) -> User:
    """Give `username` the role from the command line (audited with no actor), in the
    metadata store `serve` uses with the same settings; the updated user. Raises
    `NotFound` for an unknown username, `StorageError` when the store fails."""
    worker = settings.worker_id if settings.worker_id is not None else CLI_WORKER_ID
    async with open_metadata_store(settings) as store:
        return await RoleService(store, AuditLog(store, IdGenerator(worker))).grant(
            None, username, role)


async def serve_until_signalled(settings: Settings) -> None:
    """Run the server until SIGINT or SIGTERM, then shut down gracefully."""
    shutdown = trio.Event()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(run_server, settings, shutdown=shutdown))

            async for signum in signals:
                log.info("received %s; shutting down", signal.Signals(signum).name)
                shutdown.set()
                break
