"""A small HTTP/1.1 keep-alive load generator on trio; run it as its own process.

    python -m bench.load --url http://127.0.0.1:8000 --path /healthz --concurrency 32 --duration 10

N connections each loop request -> response (closed loop). With `--rate R` the N
connections instead share a fixed schedule of R requests per second and each latency is
measured from the request's *scheduled* send time, so a stalled server is charged for the
requests it delayed (no coordinated omission). Prints one JSON object on stdout.

Every request is the same unless `--header-file PATH` is given: then each non-empty line
of the file (e.g. `Authorization: Bearer <token>`) makes one request variant, and the
connections together take the variants round-robin (all requests are encoded up front).
`--requests N` stops after N requests have been started (e.g. one per variant).
Only loopback targets are accepted, and it always stops by itself after `--duration`
(plus at most `--grace` seconds for requests already in flight).
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import trio

MAX_HEAD = 64 * 1024


class ProtocolError(Exception):
    """The server's answer could not be read as HTTP/1.1."""


@dataclass
class Stats:
    """What the workers record; latencies (seconds) are for 2xx answers only."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    socket_errors: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0


class Connection:
    """One keep-alive connection that sends a fixed request and reads whole responses."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.stream: trio.SocketStream | None = None
        self.buffer = bytearray()

    async def close(self) -> None:
        if self.stream is not None:
            stream, self.stream = self.stream, None
            with trio.move_on_after(1) as scope:
                scope.shield = True
                await stream.aclose()
        self.buffer.clear()

    async def exchange(self, request: bytes) -> int:
        """Send `request`, read the whole response; returns its status code."""
        if self.stream is None:
            self.stream = await trio.open_tcp_stream(self.host, self.port)
        await self.stream.send_all(request)
        status, headers = await self._read_head()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            await self._read_chunked()
        elif "content-length" in headers:
            await self._read_exact(int(headers["content-length"]))
        elif status >= 200 and status not in (204, 304):
            await self._read_to_eof()
            headers["connection"] = "close"
        if "close" in headers.get("connection", "").lower():
            await self.close()
        return status

    async def _fill(self) -> None:
        assert self.stream is not None
        data = await self.stream.receive_some(65536)
        if not data:
            raise ProtocolError("connection closed by server")
        self.buffer += data

    async def _read_line_block(self, end: bytes) -> bytes:
        while (at := self.buffer.find(end)) < 0:
            if len(self.buffer) > MAX_HEAD:
                raise ProtocolError("header block too large")
            await self._fill()
        block = bytes(self.buffer[:at])
        del self.buffer[: at + len(end)]
        return block

    async def _read_head(self) -> tuple[int, dict[str, str]]:
        while True:
            lines = (await self._read_line_block(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
                raise ProtocolError(f"bad status line {lines[0][:80]!r}")
            status = int(parts[1])
            if status >= 200 or status == 101:
                break  # 1xx interim answers carry no body: skip them
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    async def _read_exact(self, size: int) -> None:
        while len(self.buffer) < size:
            await self._fill()
        del self.buffer[:size]

    async def _read_chunked(self) -> None:
        while True:
            size = int((await self._read_line_block(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while await self._read_line_block(b"\r\n"):
                    pass  # trailers, up to the empty line
                return
            await self._read_exact(size + 2)

    async def _read_to_eof(self) -> None:
        assert self.stream is not None
        while await self.stream.receive_some(65536):
            pass
        self.buffer.clear()


class Requests:
    """The pre-encoded request variants, handed out round-robin across all connections,
    at most `limit` in all (0: no limit)."""

    def __init__(self, variants: list[bytes], limit: int = 0) -> None:
        self.variants = variants
        self.limit = limit
        self.taken = 0

    def take(self) -> bytes | None:
        """The next request to send, or None once `limit` requests have been handed out."""
        if self.limit and self.taken >= self.limit:
            return None
        request = self.variants[self.taken % len(self.variants)]
        self.taken += 1
        return request


@dataclass
class Schedule:
    """The shared open-loop schedule: slot i is due at start + i / rate."""

    start: float
    rate: float
    next_slot: int = 0

    def take(self) -> float:
        due = self.start + self.next_slot / self.rate
        self.next_slot += 1
        return due


async def worker(
    host: str, port: int, requests: Requests, stop_at: float, stats: Stats,
    schedule: Schedule | None,
) -> None:
    """Loop request -> response until `stop_at` (or `requests` runs out); records into `stats`."""
    conn = Connection(host, port)
    try:
        while True:
            if schedule is not None:
                due = schedule.take()
                if due >= stop_at:
                    return
                await trio.sleep_until(due)
                sent = due
            else:
                sent = trio.current_time()
                if sent >= stop_at:
                    return
            request = requests.take()
            if request is None:
                return
            try:
                status = await conn.exchange(request)
            except (OSError, trio.BrokenResourceError, ProtocolError, ValueError) as exc:
                stats.socket_errors[f"{type(exc).__name__}: {exc}"[:120]] += 1
                stats.reconnects += 1
                await conn.close()
                await trio.sleep(0.01)  # do not spin on a refusing server
                continue
            stats.statuses[status] += 1
            if 200 <= status < 300:
                stats.latencies.append(trio.current_time() - sent)
    finally:
        await conn.close()


def percentile(ordered: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def check_loopback(host: str) -> None:
    """Refuse anything but a loopback target."""
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise SystemExit(f"bench.load: refusing non-loopback target {host!r}")


def build_request(host: str, port: int, path: str, headers: list[str]) -> bytes:
    """One GET request, encoded."""
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "User-Agent: pixtrio-bench",
             "Accept: */*", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def check_header(header: str) -> None:
    if ":" not in header or "\r" in header or "\n" in header:
        raise SystemExit(f"bench.load: bad header {header!r}")


def build_requests(host: str, port: int, args: argparse.Namespace) -> list[bytes]:
    """The request variants: one per line of `--header-file` (each with the `--header`
    ones too), or just the one request without it."""
    for header in args.header:
        check_header(header)
    if not args.header_file:
        return [build_request(host, port, args.path, args.header)]
    with open(args.header_file, encoding="latin-1") as file:
        lines = [line.rstrip("\r\n") for line in file if line.strip()]
    if not lines:
        raise SystemExit(f"bench.load: no headers in {args.header_file}")
    for line in lines:
        check_header(line)
    return [build_request(host, port, args.path, [*args.header, line]) for line in lines]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the load and return the result object."""
    parts = urlsplit(args.url)
    host = parts.hostname or ""
    check_loopback(host)
    port = parts.port or 80
    requests = Requests(build_requests(host, port, args), args.requests)
    stats = Stats()
    start = trio.current_time()
    stop_at = start + args.duration
    schedule = Schedule(start, args.rate) if args.rate else None
    with trio.move_on_at(stop_at + args.grace):
        async with trio.open_nursery() as nursery:
            for _ in range(args.concurrency):
                nursery.start_soon(worker, host, port, requests, stop_at, stats, schedule)
    elapsed = trio.current_time() - start
    ordered = sorted(stats.latencies)
    ok = len(ordered)
    errors = sum(stats.statuses.values()) - ok + sum(stats.socket_errors.values())
    result: dict[str, Any] = {
        "url": args.url + args.path,
        "mode": "open" if args.rate else "closed",
        "concurrency": args.concurrency,
        "requests": ok + errors,
        "errors": errors,
        "duration_s": round(elapsed, 3),
        "throughput_rps": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "latency_ms": {
            name: None if (value := percentile(ordered, q)) is None else round(value * 1000, 3)
            for name, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))
        },
        "status_counts": {str(k): v for k, v in sorted(stats.statuses.items())},
        "variants": len(requests.variants),
    }
    if args.requests:
        result["max_requests"] = args.requests
    if stats.socket_errors:
        result["socket_errors"] = dict(stats.socket_errors.most_common(5))
    if schedule is not None:
        result["rate_rps"] = args.rate
        result["scheduled"] = math.ceil(args.duration * args.rate)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True, help="base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--path", default="/", help="request path (with query string)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--header", action="append", default=[], help="'Name: value' (repeatable)")
    parser.add_argument("--header-file", default=None, metavar="PATH",
                        help="one 'Name: value' line per request variant, sent round-robin")
    parser.add_argument("--requests", type=int, default=0,
                        help="stop after this many requests (0: only --duration bounds the run)")
    parser.add_argument("--rate", type=float, default=0.0, help="total requests/s (open loop)")
    parser.add_argument("--grace", type=float, default=5.0,
                        help="seconds to let in-flight requests finish after --duration")
    args = parser.parse_args(argv)
    if (args.concurrency < 1 or args.duration <= 0 or args.rate < 0 or args.grace < 0
            or args.requests < 0):
        parser.error("--concurrency must be >= 1, --duration > 0, --rate, --grace and"
                     " --requests >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    result = trio.run(run, parse_args(argv))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
