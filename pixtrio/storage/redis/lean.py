"""A lean Redis client for the hottest read: one script call per round trip, nothing else.

coredis costs about 0.2 ms of CPU for a script call whose answer is a 26 KB page (its
request objects, retry policy, timeouts and reader task); writing the command and parsing
the answer with hiredis over a plain trio stream costs about 0.06 ms (docs/design.md,
"The feed's one Redis call skips coredis"). Everything else keeps using coredis.

Connections are pooled; one that fails or whose call is cancelled is closed, never reused,
so a half-read answer can never reach the next caller.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
import trio

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis.client import RedisAddress

Arg = str | int | bytes

READ_SIZE = 256 * 1024
SCHEMES = ("redis", "rediss", "unix")
CLOSE_SECONDS = 2.0
"""Seconds closing the idle connections may take at exit."""


def pack(args: Sequence[Arg]) -> bytes:
    """One command in RESP."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Script:
    """A Lua script called by its SHA1, loaded on the server when it says NOSCRIPT."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


class _Connection:
    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.reader = hiredis.Reader()

    async def call(self, payload: bytes) -> Any:
        """Send one command and return its answer (a `hiredis.ReplyError` for an error
        answer). Raises `StorageError` if the connection breaks."""
        try:
            await self.stream.send_all(payload)
            while (answer := self.reader.gets()) is False:
                data = await self.stream.receive_some(READ_SIZE)
                if not data:
                    raise StorageError("redis: the server closed the connection")
                self.reader.feed(cast(bytes, data))  # hiredis takes any buffer
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise StorageError(f"redis: {exc}") from None
        except hiredis.ProtocolError as exc:
            raise StorageError(f"redis: unreadable answer: {exc}") from None
        return answer


class LeanRedis:
    """Up to `max_connections` pooled connections to one Redis-protocol server."""

    def __init__(self, address: RedisAddress, *, max_connections: int = 16) -> None:
        self._where = connect_args(address)
        self._limit = trio.CapacityLimiter(max_connections)
        self._idle: list[_Connection] = []

    async def run_script(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        """The script's answer (strings as bytes). Raises `StorageError` for an error answer
        or a broken connection. Cancellation closes the connection it was using. The
        script may run twice (a dropped idle connection is retried once), so it must be
        safe to repeat, as reads are."""
        head: list[Arg] = ["EVALSHA", script.sha, len(keys), *keys, *args]
        answer = await self._call(pack(head))
        if isinstance(answer, hiredis.ReplyError) and str(answer).startswith("NOSCRIPT"):
            await self._call(pack(["SCRIPT", "LOAD", script.text]))
            answer = await self._call(pack(head))
        if isinstance(answer, hiredis.ReplyError):
            raise StorageError(f"redis: {answer}")
        return answer

    async def _call(self, payload: bytes) -> Any:
        async with self._limit:
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else await self._connect()
            try:
                answer = await connection.call(payload)
            except StorageError:
                await trio.aclose_forcefully(connection.stream)
                if not reused:
                    raise
                # An idle connection the server dropped: try once on a new one.
                connection = await self._connect()
                try:
                    answer = await connection.call(payload)
                except BaseException:
                    await trio.aclose_forcefully(connection.stream)
                    raise
            except BaseException:
                await trio.aclose_forcefully(connection.stream)
                raise
            self._idle.append(connection)
            return answer

    async def _connect(self) -> _Connection:
        args = self._where
        try:
            stream: trio.abc.Stream
            if args["unix_socket"]:
                stream = await trio.open_unix_socket(args["unix_socket"])
            else:
                stream = await trio.open_tcp_stream(args["host"], args["port"])
                if args["tls"]:
                    stream = trio.SSLStream(stream, ssl.create_default_context(),
                                            server_hostname=args["host"])
        except OSError as exc:
            raise StorageError(f"redis: cannot connect: {exc}") from None
        connection = _Connection(stream)
        try:
            for command in args["hello"]:
                answer = await connection.call(pack(command))
                if isinstance(answer, hiredis.ReplyError):
                    raise StorageError(f"redis: {answer}")
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
        return connection

    async def aclose(self) -> None:
        """Close the idle connections (calls still running close theirs when they end)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            await trio.aclose_forcefully(connection.stream)


def connect_args(address: RedisAddress) -> dict[str, Any]:
    """Where and how to connect: a unix socket, or host and port (TLS for rediss://),
    then AUTH and SELECT as the URL says. Raises `StorageError` for a URL it cannot use."""
    if address.url is None:
        return {"unix_socket": address.unix_socket, "hello": []}
    url = urlsplit(address.url)
    if url.scheme not in SCHEMES:
        raise StorageError(f"redis URL {address.url!r}: the scheme must be one of {SCHEMES}")
    query = parse_qs(url.query)
    db = (url.path.strip("/") if url.scheme != "unix" else "") or query.get("db", ["0"])[0]
    if db and not db.isdigit():
        raise StorageError(f"redis URL {address.url!r}: the database must be a number")
    hello: list[list[Arg]] = []
    if url.password is not None:
        user = [unquote(url.username)] if url.username else []
        hello.append(["AUTH", *user, unquote(url.password)])
    if db and db != "0":
        hello.append(["SELECT", db])
    return {
        "unix_socket": url.path if url.scheme == "unix" else None,
        "host": url.hostname or "localhost", "port": url.port or 6379,
        "tls": url.scheme == "rediss", "hello": hello,
    }


@asynccontextmanager
async def open_lean_redis(address: RedisAddress) -> AsyncIterator[LeanRedis]:
    """A `LeanRedis` whose idle connections are closed when the block exits, also when
    cancelled (shielded for at most `CLOSE_SECONDS`)."""
    client = LeanRedis(address)
    try:
        yield client
    finally:
        with trio.move_on_after(CLOSE_SECONDS, shield=True):
            await client.aclose()
