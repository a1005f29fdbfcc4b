"""The services one server process shares across requests, reachable from routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import coredis
from quart import current_app

from storage.blobs import BlobStore
from storage.metadata import MetadataStore
from storage.redis.jobs import JobQueue

from .accounts import AccountService
from .avatars import AvatarService
from .comments import CommentService
from .config import Settings
from .cursors import Cursors
from .feed import FeedService
from .graph import GraphService
from .ids import IdGenerator
from .likes import LikeService
from .media_keys import MediaKeys
from .post_reader import PostReader
from .posts import PostService
from .realtime import Realtime
from .uploads import UploadService


@dataclass
class Services:
    settings: Settings
    store: MetadataStore
    redis: coredis.Redis[str]
    redis_description: str
    ids: IdGenerator
    cursors: Cursors
    accounts: AccountService
    graph: GraphService
    blobs: BlobStore
    media_keys: MediaKeys
    media_jobs: JobQueue
    video_jobs: JobQueue
    uploads: UploadService
    posts: PostService
    avatars: AvatarService
    reader: PostReader
    feed: FeedService
    fanout_jobs: JobQueue
    likes: LikeService
    comments: CommentService
    realtime: Realtime


def services() -> Services:
    """The services of the app handling the current request."""
    return cast(Services, current_app.extensions["pixtrio"])
