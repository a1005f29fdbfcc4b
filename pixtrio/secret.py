"""The server's signing secret: made once, kept in the data dir, readable only by its owner."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE = "signing.key"


def load_or_create_secret(data_dir: Path) -> bytes:
    """The 32-byte secret in `data_dir`, created with mode 0600 on first use."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = bytes.fromhex(path.read_text().strip())
        if len(key) != 32:
            raise ValueError(f"{path} does not hold a 32-byte hex key") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex())
        f.flush()
        os.fsync(f.fileno())
    return key
