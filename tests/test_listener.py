"""The listener: its accept loop handles errors as trio's `serve_listeners` does, and the
hypercorn internals it builds (copied from hypercorn's `worker_serve`) still have the
shape it was written against."""

from __future__ import annotations

import errno
import inspect
import logging
import os
import socket
from importlib.metadata import version
from typing import Any

import pytest
import trio
import trio.testing
from hypercorn.config import Config, Sockets
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import repr_socket_addr, wrap_app
from trio._highlevel_serve_listeners import SLEEP_TIME

from pixtrio.edge.listener import _accept

RECHECK = ("pixtrio/edge/listener.py builds hypercorn's private trio classes the way "
           "hypercorn/trio/run.py's worker_serve does in 0.18: compare that function in the "
           "new version with `serve` in pixtrio/edge/listener.py, update the listener, then this "
           "test and the pin in pyproject.toml")


class FlakyListener(socket.socket):
    """A listening socket whose `accept` first fails with `errors`, in order."""

    errors: list[int]

    def accept(self) -> tuple[socket.socket, Any]:
        if self.errors:
            code = self.errors.pop(0)
            raise OSError(code, os.strerror(code))
        return super().accept()


async def test_accept_skips_routine_errors_and_waits_out_a_lack_of_descriptors(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    with FlakyListener() as listening, socket.socket() as client:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        listening.setblocking(False)
        listening.errors = [errno.ECONNRESET, errno.EPERM, errno.EMFILE, errno.ECONNABORTED]
        client.connect(listening.getsockname())
        accepted: list[socket.socket] = []
        done = trio.Event()

        async def connection(sock: socket.socket) -> None:
            accepted.append(sock)
            done.set()

        async with trio.open_nursery() as nursery:
            started = trio.current_time()
            nursery.start_soon(_accept, listening, nursery, connection)
            with trio.fail_after(5):
                await done.wait()
            nursery.cancel_scope.cancel()
        assert trio.current_time() - started >= SLEEP_TIME  # slept once, after EMFILE
        assert accepted[0].getpeername() == client.getsockname()
        accepted[0].close()
    assert [r.levelno for r in caplog.records if r.name == "pixtrio.listener"] == [logging.ERROR]


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_hypercorn_internals_have_the_shape_the_listener_builds_on() -> None:
    """Fails loudly when upgrading hypercorn changed what `pixtrio.edge.listener.serve` uses."""
    assert version("hypercorn").startswith("0.18."), RECHECK
    assert _parameters(TCPServer.__init__) == [
        "self", "app", "config", "context", "state", "stream"], RECHECK
    assert hasattr(TCPServer, "__await__"), RECHECK  # a connection is served by awaiting it
    assert _parameters(Lifespan.__init__) == ["self", "app", "config", "state"], RECHECK
    for name in ("handle_lifespan", "wait_for_startup", "wait_for_shutdown"):
        assert inspect.iscoroutinefunction(getattr(Lifespan, name, None)), RECHECK
    assert "task_status" in _parameters(Lifespan.handle_lifespan), RECHECK
    assert _parameters(WorkerContext.__init__) == ["self", "max_requests"], RECHECK
    assert inspect.iscoroutinefunction(WorkerContext(None).terminated.set), RECHECK
    assert _parameters(wrap_app) == ["app", "wsgi_max_body_size", "mode"], RECHECK
    assert _parameters(repr_socket_addr) == ["family", "address"], RECHECK
    assert ConnectionState({}) == {}, RECHECK
    config = Config()
    for name in ("backlog", "graceful_timeout", "wsgi_max_body_size"):
        assert hasattr(config, name), RECHECK
    assert _parameters(Config.create_sockets) == ["self"], RECHECK
    assert "insecure_sockets" in Sockets.__dataclass_fields__, RECHECK


def test_trio_accept_error_handling_is_still_where_the_listener_imports_it() -> None:
    """The listener takes trio's errno sets from private modules (trio exports no public
    name for them): a trio release that moves them fails the import, this says why."""
    from trio import _highlevel_serve_listeners, _highlevel_socket
    assert errno.EMFILE in _highlevel_serve_listeners.ACCEPT_CAPACITY_ERRNOS, (
        "trio moved ACCEPT_CAPACITY_ERRNOS: re-check pixtrio/edge/listener.py's _accept against "
        "trio's _highlevel_serve_listeners.py")
    assert isinstance(_highlevel_serve_listeners.SLEEP_TIME, float)
    assert errno.ECONNABORTED in _highlevel_socket._ignorable_accept_errnos, (
        "trio moved _ignorable_accept_errnos: re-check pixtrio/edge/listener.py's _accept against "
        "trio's SocketListener.accept")
