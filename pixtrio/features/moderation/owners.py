"""Whose content others may see at all: the one rule every read of an owner's profile or
posts asks (the visibility rule of private accounts and blocks builds on it)."""

from __future__ import annotations

from pixtrio.storage.types import User


def is_visible_owner(user: User) -> bool:
    """False for a suspended account: its profile and content read as if they did not
    exist until it is unsuspended (nothing is deleted)."""
    return not user.suspended
