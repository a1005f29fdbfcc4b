"""Request and response bodies of the REST API (API.md), as pydantic models.

Requests are validated against these; responses are documented with them (the server
builds response dicts directly, which is faster than validating every answer).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class RegisterIn(BaseModel):
    username: str = Field(max_length=64)
    email: str = Field(max_length=254)
    password: str = Field(min_length=8, max_length=1024)


class LoginIn(BaseModel):
    login: str = Field(min_length=1, max_length=254, description="username or email")
    password: str = Field(max_length=1024)


class PasswordChangeIn(BaseModel):
    old_password: str = Field(max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class AccountDeleteIn(BaseModel):
    password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    session_id: str
    created_at: str
    last_used_at: str | None
    user_agent: str
    ip: str
    current: bool = Field(description="the session of the token of this request")


class SessionsOut(BaseModel):
    sessions: list[SessionOut]


class ProfileIn(BaseModel):
    display_name: str | None = Field(default=None, max_length=64)
    bio: str | None = Field(default=None, max_length=150)
    is_private: bool | None = Field(
        default=None, description="private: only followers see your posts and lists; "
        "follows become requests. Going public accepts every pending request.")


class ListQuery(BaseModel):
    cursor: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=20, ge=1, le=100)


class UserOut(BaseModel):
    user_id: str
    username: str
    display_name: str
    bio: str
    profile_pic: str | None
    followers_count: int
    following_count: int
    posts_count: int
    followed_by_viewer: bool
    is_private: bool
    requested_by_viewer: bool = Field(description="the viewer asked to follow, unanswered")
    blocked_by_viewer: bool
    muted_by_viewer: bool


class MeOut(UserOut):
    email: str
    role: Literal["user", "moderator", "admin"] = Field(
        description="what the signed-in user may do: moderators and admins reach /api/mod")


class AuthOut(BaseModel):
    user: MeOut
    token: str


class UserListOut(BaseModel):
    users: list[UserOut]
    next_cursor: str | None


class FollowOut(BaseModel):
    following: bool
    requested: bool = Field(description="a follow request awaits the private account's answer")


class HealthOut(BaseModel):
    status: str
    checks: dict[str, str] = {}
    media_queue_depth: int | None = None
    video_queue_depth: int | None = None


class UploadUrlIn(BaseModel):
    content_type: str = Field(max_length=100, description="MIME type of the bytes to be PUT")
    size: int = Field(gt=0, description="exact size in bytes of the body to be PUT")


class UploadUrlOut(BaseModel):
    post_id: str
    upload_url: str
    expires_at: str


class UploadedOut(BaseModel):
    post_id: str
    received_bytes: int
    sha256: str


class PublishIn(BaseModel):
    caption: str | None = Field(default=None, max_length=2200)
    location: str | None = Field(default=None, max_length=100)
    alt_text: str | None = Field(default=None, max_length=1000)


class AuthorOut(BaseModel):
    user_id: str
    username: str
    profile_pic: str | None


class RenditionOut(BaseModel):
    webp: str
    jpeg: str
    avif: str | None = None


class PostOut(BaseModel):
    post_id: str
    author: AuthorOut
    kind: str
    status: str
    media_url: str | None
    thumbnail_url: str | None
    placeholder: str | None
    blurhash: str | None
    width: int | None
    height: int | None
    variants: dict[str, RenditionOut]
    caption: str
    location: str
    alt_text: str
    hashtags: list[str]
    taken_at: str | None
    camera: dict[str, str | None] | None
    like_count: int
    comment_count: int
    liked_by_viewer: bool
    created_at: str
    failure_reason: str | None = None
    hls_url: str | None = Field(default=None, description="video posts: the HLS master playlist")
    mp4_url: str | None = Field(default=None, description="video posts: a progressive MP4")
    duration_s: float | None = Field(default=None, description="video posts: length in seconds")


class PostListOut(BaseModel):
    posts: list[PostOut]
    next_cursor: str | None


class LikeOut(BaseModel):
    liked: bool
    like_count: int


class CommentIn(BaseModel):
    text: str = Field(max_length=2200, description="1–2,200 characters; #hashtags and @mentions are read out")


class CommentOut(BaseModel):
    comment_id: str
    post_id: str
    author: AuthorOut
    text: str
    hashtags: list[str]
    mentions: list[str]
    created_at: str


class CommentListOut(BaseModel):
    comments: list[CommentOut]
    next_cursor: str | None


class ReportIn(BaseModel):
    target: Literal["post", "comment", "user"]
    id: str = Field(max_length=20, description="the post, comment or user id")
    reason: Literal["spam", "nudity", "violence", "harassment", "hate", "self_harm", "illegal",
                    "other"]
    text: str = Field(default="", max_length=1000, description="optional details")


class ReportOut(BaseModel):
    report_id: str
    target: str
    id: str
    reason: str
    text: str
    status: str = Field(description="open or resolved")
    resolution: str | None = Field(description="dismiss, remove or suspend once resolved")
    created_at: str
    resolved_at: str | None


class ReportSummaryOut(BaseModel):
    exists: bool = Field(description="false once the reported thing is gone")
    owner: AuthorOut | None = Field(description="the reported user, or the author")
    owner_suspended: bool | None
    text: str | None = Field(description="the post's caption or the comment's text")
    post_id: str | None


class QueuedReportOut(ReportOut):
    reporter: AuthorOut | None
    summary: ReportSummaryOut


class ReportListOut(BaseModel):
    reports: list[QueuedReportOut] = Field(description="open reports first, newest first")
    next_cursor: str | None


class ResolveIn(BaseModel):
    action: Literal["dismiss", "remove", "suspend"]


class SuspendIn(BaseModel):
    reason: str = Field(default="", max_length=1000)


class RoleIn(BaseModel):
    role: Literal["user", "moderator", "admin"]


class AuditEntryOut(BaseModel):
    action_id: str
    actor: AuthorOut | None = Field(description="null for the command line")
    action: str = Field(description="hash.block, hash.unblock, report.resolve, post.remove, "
                                    "comment.remove, "
                                    "user.suspend, user.unsuspend or role.grant")
    target_kind: str
    target_id: str
    details: str
    created_at: str


class AuditListOut(BaseModel):
    actions: list[AuditEntryOut] = Field(description="newest first")
    next_cursor: str | None


class HashBlockIn(BaseModel):
    """A blocklist entry by hash or from a post (JSON); an image is sent as its raw bytes."""

    pdq: str | None = Field(default=None, description="a PDQ hash: 64 hexadecimal digits")
    post_id: str | None = Field(default=None, description="a post whose photo or poster is "
                                                          "to be blocked, also once removed")
    note: str = Field(default="", max_length=1000)


class HashBlockOut(BaseModel):
    block_id: str
    pdq: str
    source: str = Field(description="image, pdq or post")
    post_id: str | None
    note: str
    added_by: str | None
    created_at: str


class HashBlockListOut(BaseModel):
    entries: list[HashBlockOut] = Field(description="newest first")
    next_cursor: str | None


class HashMatchOut(BaseModel):
    match_id: str
    block_id: str
    distance: int = Field(description="Hamming distance to the entry (at most 31)")
    user_id: str = Field(description="who uploaded it")
    post_id: str | None = Field(description="the refused post; null for an avatar")
    created_at: str


class HashMatchListOut(BaseModel):
    matches: list[HashMatchOut] = Field(description="newest first")
    next_cursor: str | None
