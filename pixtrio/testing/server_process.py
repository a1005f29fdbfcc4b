"""Starting a real `pixtrio serve` process for tests and benchmarks, and stopping it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import trio

REPO = Path(__file__).resolve().parents[2]
# Generous limits so tests that register many users, post, like and follow a lot are not
# throttled; the rate-limit tests start their own server with tight ones or the defaults.
TEST_RATE_LIMITS = ("register_ip=100000/1h,login_ip=100000/5m,login_failures_address=100000/5m,"
                    "login_failures_account=100000/5m,posts=100000/1h,comments=100000/1h,"
                    "likes=100000/1h,follows=100000/1h,reports=100000/1h,uploads=100000/1h,"
                    "writes=100000/1h,password_checks=100000/1h,moderation=100000/1h")


class ServerProcess:
    """One `pixtrio serve` child on a free port; `url` is set once it listens."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = {"PIXTRIO_RATE_LIMITS": TEST_RATE_LIMITS, **(env or {})}
        self.url = ""
        self.lines: list[str] = []
        self.process: subprocess.Popen[str] | None = None
        self._listening = threading.Event()

    def start(self, *, timeout: float = 60) -> ServerProcess:
        """Start the server; returns once it accepts connections. Raises RuntimeError if not."""
        # fresh ones per start: the reader of a killed process may still be finishing
        self.lines, self._listening = [], threading.Event()
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pixtrio.cli", "serve", "--port", "0",
             "--data-dir", str(self.data_dir)],
            cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )
        threading.Thread(target=self._read_log, args=(self.process, self.lines, self._listening),
                         daemon=True).start()
        if not self._listening.wait(timeout) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError("pixtrio did not start:\n" + "\n".join(self.lines[-40:]))
        return self

    def _read_log(self, process: subprocess.Popen[str], lines: list[str],
                  listening: threading.Event) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip("\n"))
            entry = self._parse(line)
            if entry.get("msg", "").startswith("pixtrio listening"):
                self.url = entry["listen"][0]
                listening.set()
        listening.set()  # exited: wake a waiting start()

    @staticmethod
    def _parse(line: str) -> dict[str, Any]:
        try:
            entry = json.loads(line)
        except ValueError:
            return {}
        return entry if isinstance(entry, dict) else {}

    def log_entries(self) -> list[dict[str, Any]]:
        return [e for e in map(self._parse, self.lines) if e]

    def worker_pids(self) -> list[int]:
        """The server's media worker processes (its children but Valkey's)."""
        if self.process is None:
            return []
        found = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                    cmd = (proc / "cmdline").read_bytes()
                except OSError:
                    continue
                if int(stat[1]) == self.process.pid and b"valkey" not in cmd \
                        and b"resource_tracker" not in cmd:
                    found.append(int(proc.name))
        return found

    def stop(self, *, timeout: float = 30, signum: int = signal.SIGTERM) -> int:
        """Send `signum`, then wait; returns the exit code (kills it if it does not stop in time)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL the server, then stop the Valkey it leaves behind."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        try:
            pid = int((self.data_dir / "valkey" / "valkey.pid").read_text())
            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self.kill()


async def wait_until(condition: Callable[[], Awaitable[bool]], what: str, within: float = 20) -> None:
    """Poll `condition` until it holds; fails naming `what` after `within` seconds."""
    with trio.move_on_after(within):
        while not await condition():  # noqa: ASYNC110 - another process's state: nothing to await
            await trio.sleep(0.05)
        return
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def two_servers(data_dir: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two servers on one data dir (one SQLite store, in WAL) and the first's embedded
    Valkey, as a fleet of two on one machine shares them; both stopped on exit."""
    with ServerProcess(data_dir) as first:
        socket = next(e["redis"] for e in first.log_entries() if "redis" in e)
        redis_url = "unix://" + socket.split("unix:", 1)[1]
        with ServerProcess(data_dir, env={"PIXTRIO_REDIS_URL": redis_url}) as second:
            yield first, second
