"""Helpers shared by the benchmarks: a server, setup calls, load runs and result output.

The server (`pixtrio.testing.server_process.ServerProcess`) and the load generator (`bench.load`)
each run in their own process, so neither steals the other's event loop.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pixtrio.testing.server_process import ServerProcess  # noqa: E402

RESULTS = REPO / "bench" / "results"
PASSWORD = "bench password"


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def catch_signals() -> None:
    """Make SIGINT and SIGTERM unwind (so the server gets stopped), even in a background job."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


@contextlib.contextmanager
def server(env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    """A running `pixtrio serve` in a throw-away data dir; stopped (and Valkey too) on exit."""
    catch_signals()
    with tempfile.TemporaryDirectory(prefix="pixtrio-bench-") as tmp:
        with ServerProcess(Path(tmp) / "data", env=env) as proc:
            yield proc


def call(
    base: str, method: str, path: str, body: Any = None, token: str | None = None,
    expect: tuple[int, ...] = (200, 201),
) -> Any:
    """One JSON API call for setup (stdlib only); returns the decoded body."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    if status not in expect:
        raise RuntimeError(f"{method} {path} -> {status}: {raw[:300]!r}")
    return json.loads(raw) if raw else None


def register(base: str, username: str) -> str:
    """Register `username`; returns its bearer token."""
    body = call(base, "POST", "/api/auth/register", {
        "username": username, "email": f"{username}@example.com", "password": PASSWORD,
    }, expect=(201,))
    return str(body["token"])


def run_load(
    url: str, path: str, *, concurrency: int, duration: float,
    headers: list[str] | None = None, rate: float | None = None,
    header_file: Path | None = None, requests: int = 0,
) -> dict[str, Any]:
    """Run `python -m bench.load` in a child process; returns its JSON result.
    `header_file`: one header line per request variant (round-robin); `requests`: stop
    after that many."""
    cmd = [sys.executable, "-m", "bench.load", "--url", url, "--path", path,
           "--concurrency", str(concurrency), "--duration", str(duration)]
    for header in headers or []:
        cmd += ["--header", header]
    if rate:
        cmd += ["--rate", str(rate)]
    if header_file is not None:
        cmd += ["--header-file", str(header_file)]
    if requests:
        cmd += ["--requests", str(requests)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          timeout=duration + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.load failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def warm_up(url: str, paths: list[str], *, headers: list[str] | None = None,
            duration: float = 2.0, concurrency: int = 8, header_file: Path | None = None) -> None:
    """Load each path briefly so imports, caches and connections are warm; fails on errors."""
    for path in paths:
        result = run_load(url, path, concurrency=concurrency, duration=duration, headers=headers,
                          header_file=header_file)
        if result["errors"] or not result["requests"]:
            raise RuntimeError(f"warm-up of {path} failed: {result}")


def machine_info() -> dict[str, Any]:
    """Where the figures were measured."""
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def emit(name: str, result: dict[str, Any]) -> Path:
    """Print `result` as JSON on stdout and write it to bench/results/<name>.json."""
    text = json.dumps(result, indent=2)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(text + "\n")
    return path


def cpu_seconds(pid: int | Sequence[int] | None) -> float | None:
    """User + system CPU seconds of a process (or the sum over several, e.g. the nodes of a
    Valkey Cluster) so far (Linux /proc), or None if any (or none) is known."""
    if pid is None:
        return None
    if not isinstance(pid, int):
        spent = [cpu_seconds(p) for p in pid]
        return sum(s for s in spent if s is not None) if spent and None not in spent else None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Aggregate the rounds of one endpoint: total throughput, median percentiles, CPU."""
    medians: dict[str, float | None] = {}
    for key in ("p50", "p90", "p99", "max"):
        values = [r["latency_ms"][key] for r in runs if r["latency_ms"][key] is not None]
        medians[key] = round(statistics.median(values), 3) if values else None
    requests = sum(r["requests"] for r in runs)
    errors = sum(r["errors"] for r in runs)
    seconds = sum(r["duration_s"] for r in runs)
    ok = requests - errors
    summary: dict[str, Any] = {
        "requests": requests,
        "errors": errors,
        "duration_s": round(seconds, 3),
        "throughput_rps": round(ok / seconds, 1) if seconds else 0.0,
        "latency_ms": medians,
        "rounds_rps": [r["throughput_rps"] for r in runs],
        "rounds_p99_ms": [r["latency_ms"]["p99"] for r in runs],
    }
    for name in ("server", "valkey"):
        spent = [r.get(f"{name}_cpu_s") for r in runs]
        if ok and all(s is not None for s in spent):
            summary[f"{name}_cpu_ms_per_request"] = round(
                sum(s for s in spent if s is not None) * 1000 / ok, 3)
            summary[f"{name}_cpu_share"] = round(
                sum(s for s in spent if s is not None) / seconds, 2) if seconds else None
    if errors:
        statuses: Counter[str] = Counter()
        for r in runs:
            statuses.update(r["status_counts"])
        summary["status_counts"] = dict(statuses)
    return summary
