"""Websocket load generator for `bench.realtime`: one process holding many `/ws` sessions.

    python -m bench.ws_load --url ws://127.0.0.1:PORT/ws --tokens FILE [--first 0]
        [--count K] [--source 127.0.0.2] [--connect-concurrency 64]

Always run as its own process (several of them), driven by `bench.realtime` with one
JSON command per line on stdin; it answers with one JSON line per command on stdout.

It is deliberately not trio-websocket: a plain `select.epoll` loop over non-blocking
sockets and a hand-written RFC 6455 client (handshake, unmasked server frames, masked
client frames), so that one client frame costs a few microseconds and the load
processes measure the server, not themselves. Sessions speak `pixtrio.v1.msgpack`, sign
in with the `auth` message (with `since` when resuming), wait for `hello`, answer the
server's `ping` with `pong`, and count every event frame.

`--tokens` holds one `user_id token` per line; this process takes lines
`[first, first + count)`. `--source` binds every socket to that loopback address, so
each load process has its own ephemeral ports (a reconnect storm leaves many in
TIME_WAIT).

Commands (`{"cmd": ...}`) and their answers:

- `connect` `{"count": K}`: open the next K sessions (at most `--connect-concurrency`
  handshakes in flight, each retried up to 5 times); answers once all are open or
  given up: `opened`, `failed`, `seconds`, `connect_ms` percentiles, `failures`.
- `reset` `{"track": bool, "latency": bool}`: zero the counters. With `track`, every
  time the number of broadcasts that *every* open session of this process has received
  grows, a line `{"progress": n}` is printed (the publisher's flow control). With
  `latency`, the delay of each `post.deleted` event is recorded: its `post_id` is the
  `time.monotonic_ns()` at which it was due (the clock is system-wide on Linux).
- `stats` `{"lists": bool}`: `frames` (events), `bytes`, `open`, `closes` (by code), `errors`, `pings`,
  `cpu_s` of this process, `latency_us` (list, with `latency`), `inserts`
  (`[post_id, receive ns]` of each `feed.insert`; both lists only with `lists`,
  the default), `without_last_id`.
- `storm` `{"seconds": D, "concurrency": C}`: for D seconds keep C reconnects in flight:
  take the next session round-robin (from the first), close it (close frame 1000),
  reconnect it with `since` = the id of the last event it got and wait for its `hello`. Answers once the
  last ones are back: `reconnects`, `recovered`, `not_recovered`, `failed`,
  `per_second` (hellos in each second), `hello_ms` (close → hello percentiles).
- `quit`: close every socket and exit.
"""

from __future__ import annotations

import argparse
import base64
import errno
import json
import os
import resource
import select
import socket
import sys
import time
from collections import Counter, deque
from typing import Any
from urllib.parse import urlsplit

import msgpack

from pixtrio.protocol.codecs import MSGPACK
from pixtrio.protocol.messages import Auth, Pong

IDLE, CONNECTING, UPGRADING, SIGNING_IN, OPEN = range(5)
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
CONNECT_ATTEMPTS = 5
HANDSHAKE_TIMEOUT_S = 30.0
STORM_GRACE_S = 15.0
MASK = os.urandom(4)


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client frame (FIN set)."""
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    key = (MASK * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
    return head + MASK + masked


PONG = client_frame(0x2, MSGPACK.encode(Pong()))
CLOSE_NORMAL = client_frame(0x8, (1000).to_bytes(2, "big"))


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50, p90, p99 and max (nearest rank)."""
    if not values:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.5) - 1))], 3)

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "max": round(ordered[-1], 3)}


class Session:
    __slots__ = ("index", "token", "sock", "state", "inbuf", "outbuf", "last_id", "events",
                 "started", "attempts", "storm", "got_close")

    def __init__(self, index: int, token: str) -> None:
        self.index = index
        self.token = token
        self.sock: socket.socket | None = None
        self.state = IDLE
        self.inbuf = b""
        self.outbuf = b""
        self.last_id: str | None = None
        self.events = 0
        self.started = 0
        self.attempts = 0
        self.storm = False
        self.got_close = False


class Load:
    def __init__(self, args: argparse.Namespace, tokens: list[str]) -> None:
        url = urlsplit(args.url)
        self.address = (url.hostname or "127.0.0.1", url.port or 80)
        self.request_head = (
            f"GET {url.path or '/'} HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {MSGPACK.name}\r\n")
        self.source: str | None = args.source
        self.limit = args.connect_concurrency
        self.sessions = [Session(i, t) for i, t in enumerate(tokens)]
        self.by_fd: dict[int, Session] = {}
        self.epoll = select.epoll()
        self.stdin_buf = b""
        self.running = True
        # connecting
        self.queue: deque[Session] = deque()
        self.inflight: set[Session] = set()
        self.connect_target = 0
        self.connect_started = 0.0
        self.connect_ns: list[int] = []
        self.next_unconnected = 0
        self.open_count = 0
        self.failures: Counter[str] = Counter()
        self.failed = 0
        self.connect_opened = 0
        # measuring
        self.reset(track=False, latency=False)
        # storming
        self.storm_deadline: float | None = None
        self.storm_order: deque[Session] = deque()
        self.storm_limit = 0
        self.storm_inflight = 0
        self.storm_started = 0.0
        self.storm_hellos: list[float] = []
        self.storm_latency: list[float] = []
        self.storm_seconds = 0.0
        self.storm_counts: Counter[str] = Counter()
        self.storm_users: set[int] = set()

    # output

    def say(self, message: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def reset(self, *, track: bool, latency: bool) -> None:
        self.frames = 0
        self.bytes = 0
        self.pings = 0
        self.errors = 0
        self.closes: Counter[str] = Counter()
        self.latency_us: list[int] = []
        self.inserts: list[tuple[str, int]] = []
        self.reached: list[int] = []
        self.complete = 0
        self.track = track
        self.record_latency = latency
        for session in getattr(self, "sessions", []):
            session.events = 0

    def stats(self, *, lists: bool = True) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "reply": "stats", "frames": self.frames, "bytes": self.bytes,
            "open": self.open_count, "closes": dict(self.closes), "errors": self.errors,
            "pings": self.pings, "complete": self.complete,
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "latency_us": self.latency_us if self.record_latency and lists else None,
            "inserts": self.inserts if lists else None,
            "without_last_id": sum(1 for s in self.sessions
                                   if s.state == OPEN and s.last_id is None),
        }

    # commands

    def command(self, line: bytes) -> None:
        cmd = json.loads(line)
        name = cmd["cmd"]
        if name == "connect":
            count = min(int(cmd["count"]), len(self.sessions) - self.next_unconnected)
            chosen = self.sessions[self.next_unconnected:self.next_unconnected + count]
            self.next_unconnected += count
            self.connect_target = count
            self.connect_opened = 0
            self.failed = 0
            self.failures = Counter()
            self.connect_ns = []
            self.connect_started = time.monotonic()
            for session in chosen:
                session.attempts = 0
                self.queue.append(session)
            self.pump_queue()
            self.check_connected()
        elif name == "reset":
            self.reset(track=bool(cmd.get("track")), latency=bool(cmd.get("latency")))
            self.say({"reply": "reset"})
        elif name == "stats":
            self.say(self.stats(lists=cmd.get("lists", True)))
        elif name == "storm":
            self.start_storm(float(cmd["seconds"]), int(cmd["concurrency"]))
        elif name == "quit":
            for session in self.sessions:
                if session.sock is not None:
                    self.drop(session, None)
            self.say({"reply": "quit", **self.stats()})
            self.running = False
        else:
            raise ValueError(f"unknown command {name!r}")

    def read_stdin(self) -> None:
        try:
            data = os.read(0, 65536)
        except BlockingIOError:
            return
        if not data:
            self.running = False
            return
        self.stdin_buf += data
        while b"\n" in self.stdin_buf:
            line, _, self.stdin_buf = self.stdin_buf.partition(b"\n")
            if line.strip():
                self.command(line)

    # connecting

    def pump_queue(self) -> None:
        while self.queue and len(self.inflight) < self.limit:
            self.start(self.queue.popleft())

    def start(self, session: Session) -> None:
        session.attempts += 1
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.source:
            try:
                sock.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            except OSError:
                pass
            sock.bind((self.source, 0))
        session.sock = sock
        session.state = CONNECTING
        session.inbuf = session.outbuf = b""
        session.got_close = False
        session.started = time.monotonic_ns()
        self.by_fd[sock.fileno()] = session
        self.inflight.add(session)
        code = sock.connect_ex(self.address)
        if code not in (0, errno.EINPROGRESS):
            self.fail(session, f"connect: {os.strerror(code)}")
            return
        self.epoll.register(sock.fileno(), select.EPOLLOUT)

    def fail(self, session: Session, reason: str) -> None:
        """A connection attempt that did not reach `hello`."""
        self.drop(session, None)
        self.inflight.discard(session)
        if session.storm:
            self.storm_counts["failed"] += 1
            self.storm_counts[f"failed: {reason}"] += 1
            self.storm_next(session)
            return
        self.failures[reason] += 1
        if session.attempts < CONNECT_ATTEMPTS:
            self.queue.append(session)
        else:
            self.failed += 1
            self.check_connected()
        self.pump_queue()

    def drop(self, session: Session, code: str | None) -> None:
        """Forget the socket (closing it); `code` is counted as the reason if given."""
        sock = session.sock
        if sock is None:
            return
        if session.state == OPEN:
            self.open_count -= 1
        if code is not None:
            self.closes[code] += 1
        try:
            self.epoll.unregister(sock.fileno())
        except (OSError, ValueError):
            pass
        self.by_fd.pop(sock.fileno(), None)
        sock.close()
        session.sock = None
        session.state = IDLE

    def check_connected(self) -> None:
        if self.connect_target and self.connect_opened + self.failed >= self.connect_target:
            self.say({
                "reply": "connect", "opened": self.connect_opened, "failed": self.failed,
                "open": self.open_count, "failures": dict(self.failures),
                "seconds": round(time.monotonic() - self.connect_started, 3),
                "connect_ms": percentiles([n / 1e6 for n in self.connect_ns]),
            })
            self.connect_target = 0

    def send(self, session: Session, data: bytes) -> None:
        sock = session.sock
        if sock is None:
            return
        if session.outbuf:
            session.outbuf += data
            return
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the reader sees it
        if sent < len(data):
            session.outbuf = data[sent:]
            self.epoll.modify(sock.fileno(), select.EPOLLIN | select.EPOLLOUT)

    def flush(self, session: Session) -> None:
        sock = session.sock
        assert sock is not None
        try:
            sent = sock.send(session.outbuf)
        except BlockingIOError:
            return
        except OSError:
            session.outbuf = b""
            return
        session.outbuf = session.outbuf[sent:]
        if not session.outbuf:
            self.epoll.modify(sock.fileno(), select.EPOLLIN)

    def on_writable(self, session: Session) -> None:
        sock = session.sock
        assert sock is not None
        if session.state != CONNECTING:
            self.flush(session)
            return
        code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.fail(session, f"connect: {os.strerror(code)}")
            return
        key = base64.b64encode(os.urandom(16)).decode()
        session.state = UPGRADING
        self.epoll.modify(sock.fileno(), select.EPOLLIN)
        self.send(session, (self.request_head + f"Sec-WebSocket-Key: {key}\r\n\r\n").encode())

    # reading

    def on_readable(self, session: Session, now: int) -> None:
        sock = session.sock
        assert sock is not None
        try:
            data = sock.recv(262144)
        except BlockingIOError:
            return
        except OSError as exc:
            data = b""
            reason = f"socket: {exc.strerror}"
        else:
            reason = "eof"
        if not data:
            if session.state == OPEN:
                self.drop(session, "close frame then eof" if session.got_close else reason)
            elif session.state != IDLE:
                self.fail(session, reason)
            return
        if session.inbuf:
            data = session.inbuf + data
            session.inbuf = b""
        if session.state == UPGRADING:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                session.inbuf = data
                return
            status = data[:data.find(b"\r\n")]
            if not status.startswith(b"HTTP/1.1 101"):
                self.fail(session, f"upgrade: {status.decode(errors='replace')[:60]}")
                return
            data = data[end + 4:]
            session.state = SIGNING_IN
            since = session.last_id if session.storm else None
            self.send(session, client_frame(0x2, MSGPACK.encode(Auth(session.token, since))))
            if not data:
                return
        self.frames_in(session, data, now)

    def frames_in(self, session: Session, data: bytes, now: int) -> None:
        size = len(data)
        at = 0
        while size - at >= 2:
            b0, b1 = data[at], data[at + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if size - at < 4:
                    break
                length = int.from_bytes(data[at + 2:at + 4], "big")
                head = 4
            elif length == 127:
                if size - at < 10:
                    break
                length = int.from_bytes(data[at + 2:at + 10], "big")
                head = 10
            if size - at < head + length:
                break
            payload = data[at + head:at + head + length]
            at += head + length
            opcode = b0 & 0x0F
            if opcode == 0x2 or opcode == 0x1:
                self.message(session, payload, now)
            elif opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                session.got_close = True
                if session.state == OPEN:
                    self.drop(session, str(code))
                else:
                    self.fail(session, f"closed {code}")
                return
            elif opcode == 0x9:
                self.send(session, client_frame(0xA, payload))
            if session.sock is None:
                return
        if at < size:
            session.inbuf = data[at:]

    def message(self, session: Session, payload: bytes, now: int) -> None:
        message = msgpack.unpackb(payload)
        kind = message.get("t")
        if session.state == OPEN:
            if kind == "post.deleted" or kind == "feed.insert":
                session.last_id = message["id"]
                self.frames += 1
                self.bytes += len(payload)
                if kind == "post.deleted":
                    if self.record_latency:
                        self.latency_us.append((now - int(message["post_id"])) // 1000)
                else:
                    self.inserts.append((message["post"]["post_id"], now))
                if self.track:
                    count = session.events = session.events + 1
                    if count > len(self.reached):
                        self.reached.append(1)
                    else:
                        self.reached[count - 1] += 1
            elif kind == "ping":
                self.pings += 1
                self.send(session, PONG)
            elif kind == "error":
                self.errors += 1
            elif "id" in message:
                session.last_id = message["id"]
            return
        if kind == "hello":
            self.hello(session, bool(message.get("recovered")), now)
        elif kind == "error":
            self.errors += 1

    def hello(self, session: Session, recovered: bool, now: int) -> None:
        session.state = OPEN
        self.open_count += 1
        self.inflight.discard(session)
        if session.storm:
            self.storm_counts["reconnects"] += 1
            self.storm_counts["recovered" if recovered else "not_recovered"] += 1
            self.storm_users.add(session.index)
            self.storm_hellos.append(time.monotonic() - self.storm_started)
            self.storm_latency.append((now - session.started) / 1e6)
            session.storm = False
            self.storm_next(session)
        else:
            self.connect_opened += 1
            self.connect_ns.append(now - session.started)
            self.check_connected()
            self.pump_queue()

    # the reconnect storm

    def start_storm(self, seconds: float, concurrency: int) -> None:
        self.storm_started = time.monotonic()
        self.storm_deadline = self.storm_started + seconds
        self.storm_order = deque(s for s in self.sessions if s.state == OPEN)
        self.storm_limit = concurrency
        self.storm_inflight = 0
        self.storm_hellos = []
        self.storm_latency = []
        self.storm_counts = Counter()
        self.storm_users = set()
        self.storm_seconds = seconds
        for _ in range(min(concurrency, len(self.storm_order))):
            self.storm_inflight += 1
            self.storm_cycle()

    def storm_cycle(self) -> None:
        session = self.storm_order.popleft()
        self.storm_order.append(session)
        if session.sock is not None:
            if session.state == OPEN:
                self.send(session, CLOSE_NORMAL)
            self.drop(session, None)
        session.storm = True
        session.attempts = 0
        self.start(session)

    def storm_next(self, session: Session) -> None:
        """One reconnect finished (or failed): start the next while the storm lasts."""
        session.storm = False
        if self.storm_deadline is None:
            return
        if time.monotonic() < self.storm_deadline:
            self.storm_cycle()
            return
        self.storm_inflight -= 1
        if self.storm_inflight == 0:
            self.end_storm()

    def end_storm(self) -> None:
        assert self.storm_deadline is not None
        seconds = max(1, int(round(self.storm_seconds)))
        per_second = [0] * seconds
        for at in self.storm_hellos:
            if at < seconds:
                per_second[int(at)] += 1
        counts = self.storm_counts
        self.say({
            "reply": "storm", "reconnects": counts["reconnects"], "recovered": counts["recovered"],
            "not_recovered": counts["not_recovered"], "failed": counts["failed"],
            "failures": {k[8:]: v for k, v in counts.items() if k.startswith("failed: ")},
            "distinct_sessions": len(self.storm_users),
            "within_s": sum(1 for at in self.storm_hellos if at < self.storm_seconds),
            "seconds": round(time.monotonic() - self.storm_started, 3),
            "per_second": per_second, "hello_ms": percentiles(self.storm_latency),
            "open": self.open_count,
        })
        self.storm_deadline = None

    # the loop

    def check_timeouts(self) -> None:
        limit = time.monotonic_ns() - int(HANDSHAKE_TIMEOUT_S * 1e9)
        for session in [s for s in self.inflight if s.started < limit]:
            self.fail(session, "timeout")
        if (self.storm_deadline is not None
                and time.monotonic() > self.storm_deadline + STORM_GRACE_S):
            self.storm_counts["failed"] += self.storm_inflight
            self.storm_counts["failed: still connecting at the end"] += self.storm_inflight
            self.storm_inflight = 0
            self.end_storm()

    def run(self) -> None:
        os.set_blocking(0, False)
        self.epoll.register(0, select.EPOLLIN)
        last_check = time.monotonic()
        while self.running:
            events = self.epoll.poll(0.05)
            now = time.monotonic_ns()
            for fd, mask in events:
                if fd == 0:
                    self.read_stdin()
                    continue
                session = self.by_fd.get(fd)
                if session is None:
                    continue
                if mask & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                    self.on_readable(session, now)
                if session.sock is not None and session.sock.fileno() == fd and mask & select.EPOLLOUT:
                    self.on_writable(session)
            if self.track:
                reached, complete = self.reached, self.complete
                while complete < len(reached) and reached[complete] >= self.open_count:
                    complete += 1
                if complete != self.complete:
                    self.complete = complete
                    self.say({"progress": complete})
            if time.monotonic() - last_check > 1.0:
                last_check = time.monotonic()
                self.check_timeouts()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_load",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT/ws")
    parser.add_argument("--tokens", required=True, help="file of `user_id token` lines")
    parser.add_argument("--first", type=int, default=0, help="first line of the file to use")
    parser.add_argument("--count", type=int, default=0, help="lines to use (0: the rest)")
    parser.add_argument("--source", default=None, help="bind sockets to this local address")
    parser.add_argument("--connect-concurrency", type=int, default=64,
                        help="handshakes in flight at once")
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname or ""
    if not (host.startswith("127.") or host in ("localhost", "::1")):
        parser.error("only loopback targets")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with open(args.tokens) as lines:
        tokens = [line.split()[1] for line in lines if line.strip()]
    tokens = tokens[args.first:args.first + args.count if args.count else None]
    Load(args, tokens).run()


if __name__ == "__main__":
    main()
