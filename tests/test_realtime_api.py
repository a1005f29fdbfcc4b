"""`/ws` against real servers: live events, revocation, two processes, shutdown, bad input."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import httpx
import pytest
import trio
from trio_websocket import ConnectionRejected, open_websocket_url
from wsproto import ConnectionType, WSConnection
from wsproto.events import CloseConnection, Request

from pixtrio.protocol.codecs import JSON, MSGPACK
from pixtrio.protocol.messages import (
    MAX_FRAME_BYTES,
    CloseCode,
    DmTypingCommand,
    Error,
    FeedInsert,
    Notification,
    Ping,
    Pong,
    PostDeleted,
)
from pixtrio.storage.redis import keys
from pixtrio.storage.redis.client import RedisAddress, open_redis
from pixtrio.storage.redis.events import EventStreams
from pixtrio.storage.redis.lean import open_lean_redis
from pixtrio.testing.server_process import ServerProcess, two_servers
from tests.support.api import bearer, register
from tests.support.images import jpeg
from tests.support.posts import post_photo
from tests.support.ws import connect

pytestmark = pytest.mark.slow


async def test_events_reach_json_and_msgpack_sessions(client: httpx.AsyncClient,
                                                      live_server: ServerProcess) -> None:
    author_token, author = await register(client)
    fan_token, fan = await register(client)
    async with connect(live_server.url, author_token) as author_ws, \
            connect(live_server.url, fan_token, codec=MSGPACK, header=True) as fan_ws:
        assert author_ws.hello.user["username"] == author["username"]
        assert fan_ws.hello.user["user_id"] == fan["user_id"] and not fan_ws.hello.recovered

        await client.post(f"/api/users/{author['username']}/follow", headers=bearer(fan_token))
        followed = await author_ws.next_of(Notification)
        assert (followed.kind, followed.actor["username"]) == ("follow", fan["username"])

        post = await post_photo(client, author_token, jpeg(64, 48), caption="live #now")
        for ws in (fan_ws, author_ws):  # followers and the author's own devices
            inserted = await ws.next_of(FeedInsert)
            assert inserted.post["post_id"] == post["post_id"]
            assert inserted.post["caption"] == "live #now" and inserted.post["status"] == "ready"

        await client.post(f"/api/posts/{post['post_id']}/like", headers=bearer(fan_token))
        liked = await author_ws.next_of(Notification)
        assert (liked.kind, liked.post_id) == ("like", post["post_id"])
        await client.post(f"/api/posts/{post['post_id']}/comments", headers=bearer(fan_token),
                          json={"text": "nice"})
        commented = await author_ws.next_of(Notification)
        assert (commented.kind, commented.actor["username"]) == ("comment", fan["username"])

        await client.delete(f"/api/posts/{post['post_id']}", headers=bearer(author_token))
        deleted = await fan_ws.next_of(PostDeleted)
        assert deleted.post_id == post["post_id"]

        await fan_ws.send(Ping())
        assert isinstance(await fan_ws.next_of(Pong), Pong)


async def test_logout_closes_that_tokens_sockets_within_a_second(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    token, user = await register(client)
    second = (await client.post("/api/auth/login", json={
        "login": user["username"], "password": "correct horse"})).json()["token"]
    async with connect(live_server.url, token) as doomed, connect(live_server.url, second) as kept:
        await client.post("/api/auth/logout", headers=bearer(token))
        assert await doomed.closed_with(within=1) == CloseCode.UNAUTHENTICATED
        await kept.send(Ping())
        assert isinstance(await kept.next_of(Pong), Pong)
    async with connect(live_server.url, token, hello=False) as again:  # revoked for good
        assert await again.closed_with() == CloseCode.UNAUTHENTICATED


async def test_bad_input_gets_errors_or_documented_close_codes(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    token, _ = await register(client)
    async with connect(live_server.url, token, codec=MSGPACK) as ws:
        for frame in (os.urandom(64), b"\x81\xa1t\xa4nope", "text on msgpack",
                      b"\xdf\xff\xff\xff\xff", b"\x91" * 5000 + b"\xc0"):
            await ws.ws.send_message(frame)
            error = await ws.next_of(Error)
            assert error.code in {"bad_frame", "unknown_type", "wrong_frame_type", "bad_message"}
        await ws.send(Ping())  # still serving
        assert isinstance(await ws.next_of(Pong), Pong)
        await ws.send(DmTypingCommand("1"))  # declared in v1, not served until DMs exist
        assert (await ws.next_of(Error)).code == "not_supported"
        await ws.ws.send_message(b"\x00" * (MAX_FRAME_BYTES + 1))
        assert await ws.closed_with() == CloseCode.TOO_LARGE
    async with connect(live_server.url, "forged", hello=False) as forged:
        assert await forged.closed_with() == CloseCode.UNAUTHENTICATED
    async with connect(live_server.url, None, hello=False) as anonymous:
        await anonymous.send(Ping())
        assert isinstance(await anonymous.next(), Pong)
        await anonymous.ws.send_message('{"t":"dm.typing","conversation_id":"1"}')
        error = await anonymous.next()
        assert isinstance(error, Error) and error.code == "not_authenticated"
    url = live_server.url.replace("http://", "ws://") + "/ws"
    with pytest.raises(ConnectionRejected):
        async with open_websocket_url(url, subprotocols=["chat.v9"]):
            pass


async def raw_exchange(url: str, request: bytes) -> bytes:
    """Send `request` on a fresh connection; everything the server answers until it hangs
    up or goes quiet for a second."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    answer = b""
    async with await trio.open_tcp_stream(host, int(port)) as stream:
        await stream.send_all(request)
        with trio.move_on_after(1):
            while chunk := await stream.receive_some():
                answer += chunk
    return answer


async def test_one_port_serves_http_and_websockets(client: httpx.AsyncClient,
                                                   live_server: ServerProcess) -> None:
    """Only an upgrade request for /ws is taken from hypercorn; the rest is plain HTTP,
    and a malformed upgrade gets a 400 rather than a hang."""
    plain = await raw_exchange(live_server.url, b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n")
    assert plain.startswith(b"HTTP/1.1 404")
    keyless = await raw_exchange(
        live_server.url, b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                         b"Connection: Upgrade\r\n\r\n")
    assert keyless.startswith(b"HTTP/1.1 400")
    pipelined = await raw_exchange(live_server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                                                    b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert pipelined.count(b"HTTP/1.1 200") == 2
    for _ in range(3):  # keep-alive as before
        assert (await client.get("/healthz")).status_code == 200


async def test_two_processes_share_events_and_revocations(tmp_path: Path) -> None:
    """An event caused through one process reaches a session held by another."""
    data = tmp_path / "data"
    with two_servers(data) as (first, second):
        async with httpx.AsyncClient(base_url=first.url, timeout=30) as one:
            author_token, author = await register(one)
            fan_token, fan = await register(one)
            async with connect(second.url, author_token, codec=MSGPACK) as author_ws:
                await one.post(f"/api/users/{author['username']}/follow",
                               headers=bearer(fan_token))
                followed = await author_ws.next_of(Notification)
                assert followed.actor["username"] == fan["username"]
                await one.post("/api/auth/logout", headers=bearer(author_token))
                assert await author_ws.closed_with(within=1) == CloseCode.UNAUTHENTICATED


async def test_a_client_that_stops_reading_gets_4008_while_another_keeps_up(
        tmp_path: Path) -> None:
    """Real sockets: the stalled client's kernel buffers fill, then its mailbox, and it is
    closed with 4008; the other session of the same events never falls behind."""
    with ServerProcess(tmp_path / "data", env={"PIXTRIO_WS_MAILBOX": "16"}) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            slow_token, slow = await register(http)
            fast_token, fast = await register(http)
            users = [int(slow["user_id"]), int(fast["user_id"])]
            redis_socket = next(e["redis"] for e in server.log_entries() if "redis" in e)
            address = RedisAddress(url="unix://" + redis_socket.split("unix:", 1)[1])
            stalled = trio.socket.socket()
            stalled.setsockopt(trio.socket.SOL_SOCKET, trio.socket.SO_RCVBUF, 4096)
            host, port = server.url.removeprefix("http://").rsplit(":", 1)
            await stalled.connect((host, int(port)))
            client = WSConnection(ConnectionType.CLIENT)
            await stalled.send(client.send(Request(
                host=host, target="/ws", extra_headers=[("Authorization", f"Bearer {slow_token}")])))
            async with open_lean_redis(address) as lean, connect(server.url, fast_token) as fast_ws:
                events = EventStreams(lean, keep_s=300, maxlen=100)
                with trio.fail_after(60):
                    for n in itertools.count():
                        padded = f"{n}".rjust(2000, "0")
                        await events.deliver(users, f'{{"t":"post.deleted","post_id":"{padded}"}}')
                        with trio.fail_after(2):  # the stalled client never holds it up
                            assert (await fast_ws.next_of(PostDeleted)).post_id == padded
                        metrics = (await http.get("/metrics")).text
                        if metric(metrics, "pixtrio_ws_sessions") == 1:
                            break
            assert n > 16  # the kernel took a good deal before the mailbox counted
            received = b""
            with trio.fail_after(10):
                while chunk := await stalled.recv(1 << 16):
                    received += chunk
            stalled.close()
            client.receive_data(received)
            closes = [e for e in client.events() if isinstance(e, CloseConnection)]
            assert [c.code for c in closes] == [CloseCode.TOO_SLOW]
            metrics = (await http.get("/metrics")).text
            assert 'pixtrio_ws_closes_total{code="4008"} 1\n' in metrics


async def test_graceful_shutdown_closes_sockets_with_1001(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "data") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            token, _ = await register(http)
        async with connect(server.url, token, codec=JSON) as ws:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.to_thread.run_sync, server.stop)
                assert await ws.closed_with() == CloseCode.GOING_AWAY


def metric(text: str, name: str) -> int:
    return next(int(float(line.split()[1])) for line in text.splitlines()
                if line.startswith(name + " "))


async def test_reconnecting_needs_no_metadata_store_query(tmp_path: Path) -> None:
    """Sign-ins are cached in Redis and resume reads only the event stream."""
    with ServerProcess(tmp_path / "data") as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            token, user = await register(http)
            fan_token, _ = await register(http)
            async with connect(server.url, token) as first:
                text = (await http.get("/metrics")).text
                assert metric(text, "pixtrio_ws_sessions") == 1
                await http.post(f"/api/users/{user['username']}/follow", headers=bearer(fan_token))
                since = (await first.next_of(Notification)).id
            before = metric((await http.get("/metrics")).text, "pixtrio_metadata_operations_total")
            for codec in (JSON, MSGPACK, JSON):
                async with connect(server.url, token, codec=codec, since=since) as again:
                    assert again.hello.recovered
                    await again.send(Ping())
                    await again.next_of(Pong)
            after = (await http.get("/metrics")).text
            assert metric(after, "pixtrio_metadata_operations_total") == before
            assert metric(after, "pixtrio_ws_sessions") == 0


async def test_a_celebritys_post_reaches_online_followers_live(tmp_path: Path) -> None:
    """Pulled authors write to no follower's timeline, yet their online followers get the
    post live; an offline follower gets no event stream written at all."""
    with ServerProcess(tmp_path / "data", env={"PIXTRIO_CELEBRITY_THRESHOLD": "2"}) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            star_token, star = await register(http)
            online_token, _ = await register(http)
            offline_token, offline = await register(http)
            for token in (online_token, offline_token):
                await http.post(f"/api/users/{star['username']}/follow", headers=bearer(token))
            async with connect(server.url, online_token) as fan_ws:
                post = await post_photo(http, star_token, jpeg(40, 30), caption="for all")
                inserted = await fan_ws.next_of(FeedInsert)
                assert inserted.post["post_id"] == post["post_id"]
            socket = next(e["redis"] for e in server.log_entries() if "redis" in e)
            async with open_redis(RedisAddress(unix_socket=socket.split("unix:", 1)[1])) as redis:
                assert await redis.sismember(keys.celebrities(), star["user_id"])
                assert not await redis.exists([keys.events(int(offline["user_id"]))])
                assert not await redis.exists([keys.timeline(int(offline["user_id"]))])
            feed = (await http.get("/api/feed", headers=bearer(offline_token))).json()
            assert [p["post_id"] for p in feed["posts"]] == [post["post_id"]]


async def test_hello_shows_a_new_avatar_at_once(client: httpx.AsyncClient,
                                                live_server: ServerProcess) -> None:
    token, _ = await register(client)
    async with connect(live_server.url, token) as before:
        assert before.hello.user["profile_pic"] is None
    answer = await client.put("/api/me/avatar", content=jpeg(200, 200),
                              headers={**bearer(token), "Content-Type": "image/jpeg"})
    assert answer.status_code == 200, answer.text
    async with connect(live_server.url, token) as after:
        assert after.hello.user["profile_pic"] == answer.json()["profile_pic"]
