"""Shaping domain values into API.md's JSON answers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson

from pixtrio.features.media.keys import MediaKeys
from pixtrio.storage.types import NO_RELATION, Comment, Post, Relation, Token, User


def user_view(user: User, relation: Relation = NO_RELATION, *,
              with_email: bool = False) -> dict[str, Any]:
    """API.md's `user` as a viewer standing in `relation` to it sees it; `with_email` is
    the signed-in user's own view (`me`), which adds their email and role."""
    view: dict[str, Any] = {
        "user_id": str(user.user_id),
        "username": user.username,
        "display_name": user.display_name,
        "bio": user.bio,
        "profile_pic": user.profile_pic,
        "followers_count": user.followers_count,
        "following_count": user.following_count,
        "posts_count": user.posts_count,
        "followed_by_viewer": relation.following,
        "is_private": user.is_private,
        "requested_by_viewer": relation.requested,
        "blocked_by_viewer": relation.blocking,
        "muted_by_viewer": relation.muting,
    }
    if with_email:
        view["email"] = user.email
        view["role"] = user.role
    return view


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def author_view(user: User) -> dict[str, Any]:
    return {"user_id": str(user.user_id), "username": user.username, "profile_pic": user.profile_pic}


def author_card(user: User) -> str:
    """`author_view` in JSON, as `AuthorCards` keeps it."""
    return orjson.dumps(author_view(user)).decode()


def post_view(
    post: Post, author: User, media_keys: MediaKeys, *, liked_by_viewer: bool = False,
    like_count: int | None = None,
) -> dict[str, Any]:
    """API.md's `post`: media fields are null until the post is ready. `like_count`
    (from the live counters) overrides the stored one."""
    return viewed_by(post_fields(post, media_keys), post, author_view(author),
                     liked_by_viewer=liked_by_viewer, like_count=like_count)


def viewed_by(
    fields: dict[str, Any], post: Post, author: dict[str, Any], *, liked_by_viewer: bool,
    like_count: int | None,
) -> dict[str, Any]:
    """API.md's `post` from `post_fields(post)`, which is left as it was: a shallow copy
    with the `author_view` and the viewer's like state filled in."""
    view = dict(fields)
    view["author"] = author
    view["like_count"] = post.like_count if like_count is None else like_count
    view["liked_by_viewer"] = liked_by_viewer
    return view


def post_fields(post: Post, media_keys: MediaKeys,
                sign: Callable[[str], str] | None = None) -> dict[str, Any]:
    """What API.md's `post` says of `post` alone, the same for every viewer: `viewed_by`
    makes the answer. Its author, like count and like state are left as None. `sign`, if
    given, turns each media URL into a signed one (a private author's post)."""
    media = post.media

    def url(key: str) -> str:
        return sign(media_keys.url(key)) if sign else media_keys.url(key)

    variants = {
        size: {fmt: url(key) for fmt, key in formats.items()}
        for size, formats in media.get("variants", {}).items()
    }
    sizes = sorted(variants, key=int)
    view: dict[str, Any] = {
        "post_id": str(post.post_id),
        "author": None,
        "kind": post.kind,
        "status": post.status,
        "media_url": variants[sizes[-1]]["webp"] if sizes else None,
        "thumbnail_url": variants[sizes[0]]["webp"] if sizes else None,
        "placeholder": media.get("placeholder"),
        "blurhash": media.get("blurhash"),
        "width": media.get("width"),
        "height": media.get("height"),
        "variants": variants,
        "caption": post.caption,
        "location": post.location,
        "alt_text": post.alt_text,
        "hashtags": list(post.hashtags),
        "taken_at": media.get("taken_at"),
        "camera": media.get("camera"),
        "like_count": None,
        "comment_count": post.comment_count,
        "liked_by_viewer": None,
        "created_at": rfc3339(post.created_at),
    }
    if post.kind == "video":
        view["hls_url"] = url(media["hls"]) if "hls" in media else None
        view["mp4_url"] = url(media["mp4"]) if "mp4" in media else None
        view["duration_s"] = media.get("duration_s")
    if post.status == "failed":
        view["failure_reason"] = post.failure_reason
    return view


def comment_view(comment: Comment, author: User) -> dict[str, Any]:
    return {
        "comment_id": str(comment.comment_id),
        "post_id": str(comment.post_id),
        "author": author_view(author),
        "text": comment.text,
        "hashtags": list(comment.hashtags),
        "mentions": list(comment.mentions),
        "created_at": rfc3339(comment.created_at),
    }


def session_view(token: Token, *, current: bool) -> dict[str, Any]:
    """API.md's session: a token as its owner sees it, never the token or its hash."""
    return {
        "session_id": token.session_id,
        "created_at": rfc3339(token.created_at),
        "last_used_at": rfc3339(token.last_used_at) if token.last_used_at else None,
        "user_agent": token.user_agent,
        "ip": token.ip,
        "current": current,
    }
