"""The audit log: every moderator action, written durably before it is answered."""

from __future__ import annotations

from datetime import UTC, datetime

from pixtrio.features.ids import IdGenerator
from pixtrio.storage.metadata import MetadataStore
from pixtrio.storage.types import AuditEntry, Page, User


class AuditLog:
    def __init__(self, store: MetadataStore, ids: IdGenerator) -> None:
        self._store = store
        self._ids = ids

    async def record(self, actor: User | None, action: str, target_kind: str, target_id: int,
                     details: str = "") -> None:
        """Append one action; `actor` None is the command line."""
        await self._store.add_audit_entry(AuditEntry(
            action_id=self._ids.next_id(), actor_id=actor.user_id if actor else None,
            action=action, target_kind=target_kind, target_id=target_id, details=details,
            created_at=datetime.now(UTC)))

    async def page(self, *, before: int | None, limit: int) -> tuple[Page[AuditEntry], dict[int, User]]:
        """A page of the log, newest first, with the actors that still exist."""
        page = await self._store.list_audit_entries(before=before, limit=limit)
        actors = await self._store.get_users({e.actor_id for e in page.items if e.actor_id})
        return page, actors
