"""A websocket ping flood against a real server, as an attacker sent it: masked 125-byte
pings, 500 to a write, from sockets with a small receive buffer that never read (one that
does), signed in and not, reconnecting whenever the server hangs up, for 20 s. The server
must close each flooding connection with 4029, stay within 64 MB of its memory before the
flood, and answer `/healthz` and another session's pings within a second throughout."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import CloseConnection, Request

from pixtrio.protocol.codecs import JSON
from pixtrio.protocol.messages import CloseCode, Ping, Pong
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import register
from tests.support.flood import Flood, ping_frames
from tests.support.ws import connect

pytestmark = pytest.mark.slow

FLOOD_SECONDS = 20.0
ANSWER_WITHIN = 1.0  # the bound the issue sets for /healthz and a ping during a flood
RSS_GROWTH_LIMIT = 64 * 1024 * 1024
RECEIVE_BUFFER = 4096
PROBE_EVERY = 0.2


@dataclass
class Flooder:
    """One attacker: floods from a fresh connection until the server hangs up, then
    again, until `FLOOD_SECONDS` are over."""

    address: tuple[str, int]
    token: str | None = None  # signs in with a Bearer header
    reads: bool = False  # reads what the server sends (and so gets its close frame)
    connections: int = 0
    hung_up: int = 0  # connections the server hung up on
    close_codes: list[int] = field(default_factory=list)  # close frames read

    def run(self, until: float) -> None:
        while time.monotonic() < until:
            self._flood_once(until)

    def _flood_once(self, until: float) -> None:
        client = WSConnection(ConnectionType.CLIENT)
        headers = [(b"authorization", f"Bearer {self.token}".encode())] if self.token else []
        upgrade = client.send(Request(host="pixtrio.test", target="/ws", extra_headers=headers,
                                      subprotocols=[JSON.name]))
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            sock.connect(self.address)
            sock.sendall(upgrade)
            sock.setblocking(False)
            self.connections += 1
            with Flood(sock, ping_frames(), limit=until - time.monotonic()) as flood:
                if self.reads:
                    self._read(sock, client, until, stop=flood.hung_up)
                flood.hung_up.wait(max(0.0, until - time.monotonic()))
            self.hung_up += flood.hung_up.is_set()

    def _read(self, sock: socket.socket, client: WSConnection, until: float,
              stop: threading.Event) -> None:
        """Read and parse what the server sends until its close frame (recorded) or it
        hangs up."""
        while not stop.is_set() and time.monotonic() < until:
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                time.sleep(0.005)
                continue
            except OSError:
                return
            client.receive_data(data or None)
            for event in client.events():
                if isinstance(event, CloseConnection):
                    self.close_codes.append(event.code)
                    return
            if not data:
                return


def rss(pid: int) -> int:
    """The resident memory of process `pid`, in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match[1]) * 1024


async def closes_4029(http: httpx.AsyncClient) -> int:
    text = (await http.get("/metrics")).text
    match = re.search(r'^pixtrio_ws_closes_total\{code="4029"\} (\d+)', text, re.MULTILINE)
    return int(match[1]) if match else 0


async def timed(probe: Awaitable[object]) -> float:
    """How long awaiting `probe` took (10 s at most: then the test fails)."""
    start = trio.current_time()
    with trio.fail_after(10):
        await probe
    return trio.current_time() - start


async def test_a_ping_flood_is_closed_and_holds_up_no_one(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data") as server, trio.fail_after(90):
        assert server.process is not None
        pid = server.process.pid
        url = urlsplit(server.url)
        address = (url.hostname or "127.0.0.1", url.port or 80)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            watcher_token, _ = await register(http)
            attacker_token, _ = await register(http)
            flooders = [Flooder(address), Flooder(address, attacker_token),
                        Flooder(address, reads=True)]
            async with connect(server.url, watcher_token) as watcher:
                await http.get("/healthz")
                closed_before = await closes_4029(http)
                baseline = peak = rss(pid)
                latencies: dict[str, list[float]] = {"healthz": [], "ping": [], "ws ping": []}

                async def pong() -> None:
                    await watcher.send(Ping())
                    await watcher.next_of(Pong)

                async with trio.open_nursery() as nursery:
                    until = time.monotonic() + FLOOD_SECONDS
                    for flooder in flooders:
                        nursery.start_soon(trio.to_thread.run_sync, flooder.run, until)
                    while time.monotonic() < until:
                        latencies["healthz"].append(await timed(http.get("/healthz")))
                        latencies["ping"].append(await timed(pong()))
                        latencies["ws ping"].append(await timed(watcher.ws.ping()))
                        peak = max(peak, rss(pid))
                        await trio.sleep(PROBE_EVERY)
                closed = await closes_4029(http) - closed_before

    for name, seen in latencies.items():
        assert max(seen) < ANSWER_WITHIN, (name, sorted(seen)[-5:])
    assert peak - baseline < RSS_GROWTH_LIMIT, (baseline, peak)
    reader = flooders[-1]
    assert reader.close_codes and set(reader.close_codes) == {CloseCode.RATE_LIMITED}
    for flooder in flooders:
        assert flooder.connections >= 3, flooder  # each was let go of, and came back
        assert flooder.hung_up >= flooder.connections - 1, flooder  # the last may be cut off
    assert closed >= sum(f.hung_up for f in flooders)
