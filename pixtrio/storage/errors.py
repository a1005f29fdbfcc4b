"""Errors raised at the storage boundary; driver exceptions never escape `storage/`."""


class StorageError(Exception):
    """A store could not do what was asked (unreachable, corrupt, misconfigured)."""


class Conflict(StorageError):
    """A uniqueness rule was broken; `field` names the unique field (for example "username")."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} already exists")
        self.field = field
