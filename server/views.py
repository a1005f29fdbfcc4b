"""Shaping domain values into API.md's JSON answers."""

from __future__ import annotations

from typing import Any

from storage.types import User


def user_view(user: User, *, followed_by_viewer: bool = False, with_email: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "user_id": str(user.user_id),
        "username": user.username,
        "display_name": user.display_name,
        "bio": user.bio,
        "profile_pic": user.profile_pic,
        "followers_count": user.followers_count,
        "following_count": user.following_count,
        "posts_count": user.posts_count,
        "followed_by_viewer": followed_by_viewer,
    }
    if with_email:
        view["email"] = user.email
    return view
