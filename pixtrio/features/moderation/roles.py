"""Roles: who may moderate (moderators and admins) and who may hand out roles (admins)."""

from __future__ import annotations

from typing import get_args

from pixtrio.features.accounts.service import normalise_username
from pixtrio.features.errors import not_found
from pixtrio.features.moderation.audit import AuditLog
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.types import Role, User

ROLES: tuple[Role, ...] = get_args(Role)
"""From least to most trusted: each role may do what the ones before it may."""


def at_least(user: User, role: Role) -> bool:
    """Whether the user's role is `role` or above."""
    return ROLES.index(user.role) >= ROLES.index(role)


class RoleService:
    def __init__(self, store: MetadataStore, audit: AuditLog) -> None:
        self._store = store
        self._audit = audit

    async def grant(self, actor: User | None, username: str, role: Role) -> User:
        """Give `username` the role (the audit log names `actor`, None for the command
        line); the updated user. Raises `NotFound`."""
        user = await self._store.get_user_by_username(normalise_username(username))
        updated = await self._store.set_role(user.user_id, role) if user else None
        if updated is None:
            raise not_found("user")
        await self._audit.record(actor, "role.grant", "user", updated.user_id, role)
        return updated
