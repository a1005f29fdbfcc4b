"""One listening socket for the whole API: websocket upgrades to `/ws` go to the realtime
layer on a socket it owns, every other connection to hypercorn.

Why not hypercorn for `/ws` as well: its ASGI websocket send is an awaited call through
four layers that always yields to the scheduler, about 70 µs a frame; a socket the session
owns lets the Hub write a frame straight into the kernel's buffer. The split is made once
per connection, on its first request head (browsers and trio-websocket open a fresh
connection for a websocket); hypercorn's trio `TCPServer` then serves the connection with
that head replayed, as if it had accepted it. What follows mirrors hypercorn's own
`worker_serve` (`hypercorn/trio/run.py`) for one worker: the app's lifespan around
serving, and on shutdown no new connections, then `graceful_timeout` for open ones to
finish. It builds hypercorn's private `TCPServer`, `Lifespan` and `WorkerContext`, so
hypercorn is pinned to the minor version this was checked against, and
`tests/test_listener.py` fails when their shape changes. Accept errors are handled as
trio's `serve_listeners` handles them, with trio's own errno sets.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import repr_socket_addr, wrap_app
from trio._highlevel_serve_listeners import ACCEPT_CAPACITY_ERRNOS, SLEEP_TIME
from trio._highlevel_socket import _ignorable_accept_errnos

log = logging.getLogger("pixtrio.listener")

HEAD_LIMIT = 16 * 1024
HEAD_TIMEOUT = 10.0
"""How long a new connection may take to send its first request head before it is handed
to hypercorn as it is (which applies its own limits)."""

Websocket = Callable[[socket.socket, bytes], Awaitable[None]]
IsWebsocket = Callable[[bytes], bool]


async def serve(app: Any, config: Config, websocket: Websocket, is_websocket: IsWebsocket, *,
                shutdown: trio.Event,
                task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve `config.bind` until `shutdown` is set, then stop accepting and give open
    connections `config.graceful_timeout` s before cancelling them. Reports the bound
    addresses once accepting. Connections whose first request head passes `is_websocket`
    are handed, with that head, to `websocket`, which owns the socket from then on."""
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    lifespan_state: dict[str, Any] = {}
    lifespan = Lifespan(wrapped, config, lifespan_state)
    context = WorkerContext(None)
    sockets = config.create_sockets().insecure_sockets
    for sock in sockets:
        sock.listen(config.backlog)
        sock.setblocking(False)

    async def connection(sock: socket.socket) -> None:
        try:
            head = await read_head(sock)
        except BaseException:
            sock.close()
            raise
        if is_websocket(head):
            try:
                await websocket(sock, head)
            except Exception:  # one connection's bug must not stop the server
                log.exception("websocket connection failed")
                sock.close()
            return
        if not head:
            sock.close()
            return
        stream = _Replayed(trio.SocketStream(trio.socket.from_stdlib_socket(sock)), head)
        await TCPServer(wrapped, config, context, ConnectionState(lifespan_state.copy()),
                        stream)  # type: ignore[arg-type]

    try:
        async with trio.open_nursery() as lifespan_nursery:
            await lifespan_nursery.start(lifespan.handle_lifespan)
            await lifespan.wait_for_startup()
            async with trio.open_nursery() as connections:
                async with trio.open_nursery() as accepting:
                    for sock in sockets:
                        accepting.start_soon(_accept, sock, connections, connection)
                    binds = [f"http://{repr_socket_addr(s.family, s.getsockname())}"
                             for s in sockets]
                    task_status.started(binds)
                    await shutdown.wait()
                    accepting.cancel_scope.cancel()
                for sock in sockets:
                    sock.close()
                await context.terminated.set()
                connections.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
            await lifespan.wait_for_shutdown()
            lifespan_nursery.cancel_scope.cancel()
    finally:
        for sock in sockets:
            sock.close()


async def _accept(listening: socket.socket, nursery: trio.Nursery,
                  connection: Callable[[socket.socket], Awaitable[None]]) -> None:
    """Accept connections on `listening` into `nursery` until cancelled. As trio's
    `serve_listeners`: a connection that failed before it was accepted is skipped, running
    out of file descriptors or memory is logged and retried after `SLEEP_TIME` s, any other
    error is raised."""
    while True:
        await trio.lowlevel.wait_readable(listening)
        while True:
            try:
                sock, _ = listening.accept()
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in ACCEPT_CAPACITY_ERRNOS:
                    log.error("accept returned %s (%s); retrying in %s seconds",
                              errno.errorcode[exc.errno], os.strerror(exc.errno), SLEEP_TIME,
                              exc_info=True)
                    await trio.sleep(SLEEP_TIME)
                    break
                if exc.errno in _ignorable_accept_errnos:
                    continue
                raise
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            nursery.start_soon(connection, sock)


async def read_head(sock: socket.socket) -> bytes:
    """What the client sends first, up to the end of its request head (at most
    `HEAD_LIMIT` bytes, within `HEAD_TIMEOUT` s); b"" if it hung up without a byte."""
    head = b""
    with trio.move_on_after(HEAD_TIMEOUT):
        while b"\r\n\r\n" not in head and len(head) < HEAD_LIMIT:
            try:
                chunk = sock.recv(HEAD_LIMIT)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
                continue
            except OSError:
                break
            if not chunk:
                break
            head += chunk
    return head


class _Replayed(trio.abc.HalfCloseableStream):
    """A socket stream whose first bytes were already read: they are received again."""

    def __init__(self, stream: trio.SocketStream, head: bytes) -> None:
        self.socket = stream.socket
        self._stream = stream
        self._head = head

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            await trio.lowlevel.checkpoint()
            return head
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()
