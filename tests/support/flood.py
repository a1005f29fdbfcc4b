"""Websocket floods: masked ping frames built by hand, as an attacker sends them; a thread
that writes them as fast as the socket takes them, without reading the answers; and a
socket whose peer never runs out of frames, for tests in process."""

from __future__ import annotations

import os
import select
import socket
import struct
import threading
import time

PAYLOAD = 125  # the largest a control frame may carry
FRAMES_PER_WRITE = 500


def ping_frames(count: int = FRAMES_PER_WRITE, payload: bytes = b"p" * PAYLOAD) -> bytes:
    """`count` masked ping frames carrying `payload` (at most 125 bytes)."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return (struct.pack("!BB", 0x89, 0x80 | len(payload)) + mask + masked) * count


class Flood:
    """Writes `data` to `sock` over and over (a continuous stream of its frames) from a
    thread, until the peer hangs up or `stop` is called; `limit` seconds at most, so that a
    server that never lets go still ends the test (`hit_limit` then says so). `sock` stays
    non-blocking and the caller's."""

    def __init__(self, sock: socket.socket, data: bytes, *, limit: float = 10) -> None:
        self.bytes_sent = 0
        self.hit_limit = False
        self.hung_up = threading.Event()  # the peer hung up
        self._sock = sock
        self._data = memoryview(data)
        self._limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Flood:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        deadline = time.monotonic() + self._limit
        data, offset = self._data, 0
        while not self._stop.is_set():
            if time.monotonic() > deadline:
                self.hit_limit = True
                return
            if not select.select([], [self._sock], [], 0.05)[1]:
                continue
            try:
                sent = self._sock.send(data[offset:])
            except BlockingIOError:
                continue
            except OSError:
                self.hung_up.set()
                return
            self.bytes_sent += sent
            offset = (offset + sent) % len(data)


class Firehose(socket.socket):
    """A socket (the server's end of a socket pair, `fileno`) whose peer always has more
    to send, faster than anyone reads: `recv` returns `data` at once, every time, until it
    has done so `limit` times; then the peer hangs up. Everything else is the pair's."""

    def __init__(self, fileno: int, data: bytes, *, limit: int) -> None:
        super().__init__(fileno=fileno)
        self.data = data
        self.left = limit

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if self.left <= 0:
            return b""
        self.left -= 1
        return self.data
