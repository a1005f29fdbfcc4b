"""A lean Redis client for the hot paths: the feed's page read and fan-out writes.

coredis costs about 0.2 ms of CPU for a script call whose answer is a 26 KB page (its
request objects, retry policy, timeouts and reader task); writing the command and parsing
the answer with hiredis over a plain trio stream costs about 0.06 ms (docs/design.md,
"The feed's Redis reads skip coredis"). Everything else keeps using coredis.

`execute` sends a batch of calls as one pipeline per node. On a Redis Cluster each call
goes to the node owning the slot of its routing key (from the slot map, read with CLUSTER
SLOTS), the nodes concurrently; MOVED updates the map and resends, ASK resends once to the
named node after ASKING.

Connections are pooled per node; one that fails or whose call is cancelled is closed,
never reused, so a half-read answer can never reach the next caller.
"""

from __future__ import annotations

import binascii
import hashlib
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qs, unquote, urlsplit

import hiredis
import trio

from pixtrio.storage.errors import StorageError
from pixtrio.storage.redis.client import RedisAddress

Arg = str | int | bytes

READ_SIZE = 256 * 1024
SLOTS = 16384
MAX_REDIRECTS = 5
_ASKING = b"*1\r\n$6\r\nASKING\r\n"
SCHEMES = ("redis", "rediss", "unix")
CLOSE_SECONDS = 2.0
"""Seconds closing the idle connections may take at exit."""


def pack(args: Sequence[Arg]) -> bytes:
    """One command in RESP (hiredis's packer: a page's ~150 arguments in about a
    quarter of the time a Python loop takes)."""
    return cast(bytes, hiredis.pack_command(tuple(args)))  # type: ignore[arg-type]  # a 1-tuple in its stub


class Script:
    """A Lua script called by its SHA1, loaded on the server when it says NOSCRIPT."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()


class Call(NamedTuple):
    """One command for `LeanRedis.execute`: its arguments (or the command already in RESP,
    see `packed`), the key whose slot picks the node on a cluster (None: any node), and
    the script it calls, if it is an EVALSHA."""

    args: Sequence[Arg] | bytes
    route: Arg | None
    script: Script | None


def command(*args: Arg, route: Arg | None = None) -> Call:
    """A plain command, sent to the node owning `route`'s slot."""
    return Call(args, route, None)


def packed(resp: bytes, route: Arg) -> Call:
    """One command already in RESP (`pack`ed, or built from `bulk` pieces), for callers
    that send thousands alike and build them from shared byte pieces."""
    return Call(resp, route, None)


def bulk(data: bytes) -> bytes:
    """One RESP bulk string: a piece of a `packed` command."""
    return b"$%d\r\n%s\r\n" % (len(data), data)


def evalsha(script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Call:
    """A call of `script`; its keys must share one slot."""
    return Call(["EVALSHA", script.sha, len(keys), *keys, *args], keys[0] if keys else None,
                script)


def slot_of(key: Arg) -> int:
    """The cluster slot of `key`: CRC16 (XMODEM) of its hash tag, or of all of it."""
    data = key if isinstance(key, bytes) else str(key).encode()
    start = data.find(b"{")
    if start >= 0:
        end = data.find(b"}", start + 1)
        if end > start + 1:
            data = data[start + 1:end]
    return binascii.crc_hqx(data, 0) & (SLOTS - 1)


class _Connection:
    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.reader = hiredis.Reader()

    async def call(self, payload: bytes, count: int) -> list[Any]:
        """Send `count` commands and return their answers (a `hiredis.ReplyError` for an
        error answer). Raises `StorageError` if the connection breaks."""
        answers: list[Any] = []
        try:
            await self.stream.send_all(payload)
            while len(answers) < count:
                while (answer := self.reader.gets()) is not False:
                    answers.append(answer)
                    if len(answers) == count:
                        return answers
                data = await self.stream.receive_some(READ_SIZE)
                if not data:
                    raise StorageError("redis: the server closed the connection")
                self.reader.feed(cast(bytes, data))  # hiredis takes any buffer
        except (OSError, trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise StorageError(f"redis: {exc}") from None
        except hiredis.ProtocolError as exc:
            raise StorageError(f"redis: unreadable answer: {exc}") from None
        return answers


class _Node:
    """Up to `max_connections` pooled connections to one server."""

    def __init__(self, where: dict[str, Any], max_connections: int) -> None:
        self.where = where
        self._limit = trio.CapacityLimiter(max_connections)
        self._idle: list[_Connection] = []

    async def pipeline(self, payload: bytes, count: int) -> list[Any]:
        """Send `payload` (`count` commands) and return their `count` answers."""
        async with self._limit:
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else await self._connect()
            try:
                answers = await connection.call(payload, count)
            except StorageError:
                await trio.aclose_forcefully(connection.stream)
                if not reused:
                    raise
                # An idle connection the server dropped: try once on a new one.
                connection = await self._connect()
                try:
                    answers = await connection.call(payload, count)
                except BaseException:
                    await trio.aclose_forcefully(connection.stream)
                    raise
            except BaseException:
                await trio.aclose_forcefully(connection.stream)
                raise
            self._idle.append(connection)
            return answers

    async def _connect(self) -> _Connection:
        args = self.where
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
                [answer] = await connection.call(pack(command), 1)
                if isinstance(answer, hiredis.ReplyError):
                    raise StorageError(f"redis: {answer}")
        except BaseException:
            await trio.aclose_forcefully(stream)
            raise
        return connection

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await trio.aclose_forcefully(connection.stream)


class LeanRedis:
    """Pooled connections to one Redis-protocol server, or to every primary of a Redis
    Cluster (`cluster=True`: `address` names any node; the slot map is read with
    CLUSTER SLOTS and refreshed when a node answers MOVED)."""

    def __init__(self, address: RedisAddress, *, cluster: bool = False,
                 max_connections: int = 16) -> None:
        self._seed = connect_args(address)
        if cluster and self._seed["unix_socket"]:
            raise StorageError("redis: a cluster is reached over TCP (redis:// or rediss://)")
        self._cluster = cluster
        self._max_connections = max_connections
        self._nodes: dict[tuple[str, int], _Node] = {}
        self._single = _Node(self._seed, max_connections)
        self._slots: list[tuple[str, int]] = []

    @property
    def cluster(self) -> bool:
        """Whether this client speaks to a Redis Cluster."""
        return self._cluster

    async def run_script(self, script: Script, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        """The script's answer (strings as bytes); see `execute`."""
        [answer] = await self.execute([evalsha(script, keys, args)])
        return answer

    async def execute(self, calls: Sequence[Call]) -> list[Any]:
        """The answers of `calls`, in order (strings as bytes): one pipelined round trip
        per node they go to, sent concurrently; a script the server lacks is loaded and
        its calls sent again, and on a cluster MOVED and ASK are followed. Raises
        `StorageError` for an error answer or a broken connection. Cancellation closes
        the connections in use. A call may run twice (a dropped idle connection is
        retried once), so it must be safe to repeat, as reads are."""
        if not self._cluster:
            answers = await self._send(self._single, calls, [False] * len(calls))
        else:
            answers = await self._execute_on_cluster(calls)
        for answer in answers:
            if isinstance(answer, hiredis.ReplyError):
                raise StorageError(f"redis: {answer}")
        return answers

    def reads(self, names: Sequence[Arg]) -> list[Call]:
        """Calls reading the string keys `names` (see `values`): one MGET on one server,
        a GET each on a cluster, where an MGET takes keys of one slot only."""
        if not self._cluster:
            return [command("MGET", *names)] if names else []
        return [command("GET", name, route=name) for name in names]

    def values(self, answers: Sequence[Any]) -> list[Any]:
        """The values of the keys `reads` read, from the answers of its calls."""
        if not self._cluster:
            return list(answers[0]) if answers else []
        return list(answers)

    async def _execute_on_cluster(self, calls: Sequence[Call]) -> list[Any]:
        try:
            return await self._route(calls)
        except StorageError:
            self._slots = []  # a node may have failed over: read the map again next time
            raise

    async def _route(self, calls: Sequence[Call]) -> list[Any]:
        if not self._slots:
            await self._load_slots()
        answers: list[Any] = [None] * len(calls)
        targets = {i: (self._slots[slot_of(c.route)] if c.route is not None else None, False)
                   for i, c in enumerate(calls)}
        for _ in range(MAX_REDIRECTS):
            groups: dict[tuple[tuple[str, int] | None, bool], list[int]] = {}
            for i, target in targets.items():
                groups.setdefault(target, []).append(i)
            results: dict[int, Any] = {}

            async def send(target: tuple[tuple[str, int] | None, bool], indexes: list[int],
                           results: dict[int, Any] = results) -> None:
                where, asking = target
                node = self._node(where) if where is not None else self._single
                got = await self._send(node, [calls[i] for i in indexes], [asking] * len(indexes))
                results.update(zip(indexes, got, strict=True))

            if len(groups) == 1:
                [(target, indexes)] = groups.items()
                await send(target, indexes)
            else:
                try:
                    async with trio.open_nursery() as nursery:
                        for target, indexes in groups.items():
                            nursery.start_soon(send, target, indexes)
                except* StorageError as group:
                    raise StorageError(str(group.exceptions[0])) from None
            targets = {}
            moved = None
            for i, answer in results.items():
                redirect = _redirect(answer)
                if redirect is None:
                    answers[i] = answer
                    continue
                kind, slot, where = redirect
                if kind == "MOVED":
                    self._slots[slot] = where
                    moved = where
                targets[i] = (where, kind == "ASK")
            if moved is not None:
                await self._load_slots()
            if not targets:
                return answers
        raise StorageError("redis: too many cluster redirections")

    async def _send(self, node: _Node, calls: Sequence[Call], asking: Sequence[bool]) -> list[Any]:
        """One pipeline of `calls` on `node` (each after ASKING where `asking` says), and
        again for the calls whose script the node lacked, after loading it."""
        answers = await self._pipeline(node, calls, asking)
        missing = [i for i, a in enumerate(answers)
                   if isinstance(a, hiredis.ReplyError) and str(a).startswith("NOSCRIPT")]
        if missing:
            scripts = {s.sha: s for i in missing if (s := calls[i].script) is not None}
            loads = [Call(("SCRIPT", "LOAD", s.text), None, None) for s in scripts.values()]
            again = await self._pipeline(node, [*loads, *(calls[i] for i in missing)],
                                         [False] * len(loads) + [asking[i] for i in missing])
            for i, answer in zip(missing, again[len(loads):], strict=True):
                answers[i] = answer
        return answers

    @staticmethod
    async def _pipeline(node: _Node, calls: Sequence[Call], asking: Sequence[bool]) -> list[Any]:
        payload = b"".join((_ASKING if ask else b"")
                           + (c.args if isinstance(c.args, bytes) else pack(c.args))
                           for c, ask in zip(calls, asking, strict=True))
        answers = await node.pipeline(payload, len(calls) + sum(asking))
        if not any(asking):
            return answers
        out, at = [], 0
        for ask in asking:
            at += ask  # ASKING's own "+OK" comes first
            out.append(answers[at])
            at += 1
        return out

    def _node(self, where: tuple[str, int]) -> _Node:
        node = self._nodes.get(where)
        if node is None:
            args = {**self._seed, "unix_socket": None, "host": where[0], "port": where[1]}
            node = self._nodes[where] = _Node(args, self._max_connections)
        return node

    async def _load_slots(self) -> None:
        """Read the slot map (CLUSTER SLOTS) from the first node that answers: the one
        `address` named, then the others known."""
        failure = None
        for node in [self._single, *self._nodes.values()]:
            try:
                [answer] = await node.pipeline(pack(["CLUSTER", "SLOTS"]), 1)
            except StorageError as exc:
                failure = exc
                continue
            if isinstance(answer, hiredis.ReplyError):
                raise StorageError(f"redis: {answer}")
            self._slots = _slot_map(answer, self._seed["host"])
            return
        raise failure or StorageError("redis: no cluster node answers")

    async def aclose(self) -> None:
        """Close the idle connections (calls still running close theirs when they end)."""
        for node in [self._single, *self._nodes.values()]:
            await node.aclose()


def _slot_map(answer: Any, default_host: str) -> list[tuple[str, int]]:
    """The owner (host, port) of each slot, from CLUSTER SLOTS's answer."""
    slots = [("", 0)] * SLOTS
    for start, end, primary, *_ in answer:
        host = primary[0].decode() or default_host
        for slot in range(start, end + 1):
            slots[slot] = (host, int(primary[1]))
    if ("", 0) in slots:
        raise StorageError("redis: the cluster does not cover every slot")
    return slots


def _redirect(answer: Any) -> tuple[str, int, tuple[str, int]] | None:
    """("MOVED" or "ASK", slot, (host, port)) of a redirection answer, else None."""
    if not isinstance(answer, hiredis.ReplyError):
        return None
    kind, _, rest = str(answer).partition(" ")
    if kind not in ("MOVED", "ASK"):
        return None
    slot, _, where = rest.partition(" ")
    host, _, port = where.rpartition(":")
    return kind, int(slot), (host, int(port))


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
async def open_lean_redis(address: RedisAddress, *,
                          cluster: bool = False) -> AsyncIterator[LeanRedis]:
    """A `LeanRedis` whose idle connections are closed when the block exits, also when
    cancelled (shielded for at most `CLOSE_SECONDS`)."""
    client = LeanRedis(address, cluster=cluster)
    try:
        yield client
    finally:
        with trio.move_on_after(CLOSE_SECONDS, shield=True):
            await client.aclose()
