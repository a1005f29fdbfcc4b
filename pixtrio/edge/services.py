"""The services one server process shares across requests, reachable from routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from quart import current_app

from pixtrio.config import Settings
from pixtrio.edge.cursors import Cursors
from pixtrio.edge.realtime import Realtime
from pixtrio.features.accounts.avatars import AvatarService
from pixtrio.features.accounts.deletion import AccountDeletion
from pixtrio.features.accounts.service import AccountService
from pixtrio.features.accounts.sessions import Sessions
from pixtrio.features.comments.service import CommentService
from pixtrio.features.feed.fanout import FanOut
from pixtrio.features.feed.service import FeedService
from pixtrio.features.graph.service import GraphService
from pixtrio.features.ids import IdGenerator
from pixtrio.features.likes.service import LikeService
from pixtrio.features.media.keys import MediaKeys
from pixtrio.features.media.privacy import MediaPrivacy
from pixtrio.features.media.signing import MediaSigner
from pixtrio.features.moderation.audit import AuditLog
from pixtrio.features.moderation.reports import ReportService
from pixtrio.features.moderation.roles import RoleService
from pixtrio.features.moderation.service import ModerationService
from pixtrio.features.posts.reader import PostReader
from pixtrio.features.posts.service import PostService
from pixtrio.features.posts.uploads import UploadService
from pixtrio.features.ratelimit import RateLimiter
from pixtrio.features.safety.hash_blocklist import HashBlocklist
from pixtrio.storage.blobs import BlobStore
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.redis.jobs import JobQueue


@dataclass
class Services:
    settings: Settings
    store: MetadataStore
    redis_ping: Callable[[], Awaitable[None]]
    """Returns once Redis answers; raises `StorageError` if it does not."""
    redis_description: str
    ids: IdGenerator
    cursors: Cursors
    accounts: AccountService
    limits: RateLimiter
    sessions: Sessions
    account_jobs: JobQueue
    """Deleted accounts whose content is still to be removed (`account_deletion`)."""
    account_deletion: AccountDeletion
    graph: GraphService
    blobs: BlobStore
    media_keys: MediaKeys
    media_signer: MediaSigner
    media_privacy: MediaPrivacy
    media_jobs: JobQueue
    video_jobs: JobQueue
    uploads: UploadService
    posts: PostService
    avatars: AvatarService
    reader: PostReader
    feed: FeedService
    fanout: FanOut
    fanout_jobs: JobQueue
    likes: LikeService
    comments: CommentService
    reports: ReportService
    moderation: ModerationService
    roles: RoleService
    audit: AuditLog
    realtime: Realtime
    hash_blocklist: HashBlocklist


def services() -> Services:
    """The services of the app handling the current request."""
    return cast(Services, current_app.extensions["pixtrio"])
