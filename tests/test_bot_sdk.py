"""The bot SDK (`protocol.client`) and the example like bot, against real servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from examples import like_bot
from pixtrio.protocol.client import ApiError, Bot, Notification, Resync, SignedOut
from pixtrio.testing.server_process import ServerProcess
from tests.support.api import bearer, register
from tests.support.images import jpeg
from tests.support.posts import post_photo

pytestmark = pytest.mark.slow

PASSWORD = "correct horse"  # what tests.support.api.register signs up with


class Relay:
    """A TCP relay in front of the server that can cut its websocket connections, as a
    flaky network would, and hold new ones back meanwhile."""

    def __init__(self, upstream_url: str) -> None:
        port = httpx.URL(upstream_url).port
        assert port is not None
        self._upstream_port = port
        self.url = ""
        self.websockets = 0  # websocket connections relayed so far
        self._cuttable: set[trio.CancelScope] = set()
        self._open = trio.Event()
        self._open.set()

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.url = f"http://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._relay, listeners)
            task_status.started()

    def cut_websockets(self, *, hold: bool) -> None:
        """Drop every websocket connection; with `hold`, new ones wait for `release()`."""
        if hold:
            self._open = trio.Event()
        for scope in self._cuttable:
            scope.cancel()

    def release(self) -> None:
        self._open.set()

    async def _relay(self, downstream: trio.SocketStream) -> None:
        first = await downstream.receive_some()
        websocket = first.startswith(b"GET /ws")
        if websocket:
            await self._open.wait()
            self.websockets += 1
        with trio.CancelScope() as scope:
            if websocket:
                self._cuttable.add(scope)
            try:
                async with await trio.open_tcp_stream("127.0.0.1", self._upstream_port) as upstream:
                    await upstream.send_all(first)
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(_pipe, downstream, upstream, nursery.cancel_scope)
                        nursery.start_soon(_pipe, upstream, downstream, nursery.cancel_scope)
            finally:
                self._cuttable.discard(scope)
        # serve_listeners closes `downstream` when this returns


async def _pipe(source: trio.SocketStream, sink: trio.SocketStream, both: trio.CancelScope) -> None:
    try:
        async for data in source:
            await sink.send_all(data)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    both.cancel()


@pytest.fixture
async def relay(live_server: ServerProcess) -> AsyncIterator[Relay]:
    relay = Relay(live_server.url)
    async with trio.open_nursery() as nursery:
        await nursery.start(relay.serve)
        yield relay
        nursery.cancel_scope.cancel()


async def like_state(client: httpx.AsyncClient, token: str, post_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/posts/{post_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return response.json()


async def test_like_bot_likes_the_new_posts_of_whom_it_follows(
        client: httpx.AsyncClient, live_server: ServerProcess) -> None:
    with trio.fail_after(40):
        author_token, author = await register(client)
        _, account = await register(client)
        async with Bot.connect(live_server.url, username=account["username"],
                               password=PASSWORD) as bot:
            assert bot.user["user_id"] == account["user_id"]
            await bot.follow(author["username"])
            await bot.post_photo(jpeg(32, 32), caption="mine")  # its own: not liked
            liked: list[str] = []

            async def run_bot() -> None:
                liked.extend(await like_bot.run(bot, stop_after=1))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(run_bot)
                post = await post_photo(client, author_token, jpeg(64, 48), caption="like me")
            assert liked == [post["post_id"]]

        while True:  # like counts are flushed in the background
            state = await like_state(client, bot.token, post["post_id"])
            if state["like_count"] == 1:
                break
            await trio.sleep(0.1)
        assert state["liked_by_viewer"] is True


async def test_like_bot_catches_up_on_resync(client: httpx.AsyncClient,
                                             live_server: ServerProcess) -> None:
    """Started after the author posted, the bot likes what its first Resync finds."""
    with trio.fail_after(40):
        author_token, author = await register(client)
        bot_token, _ = await register(client)
        await client.post(f"/api/users/{author['username']}/follow", headers=bearer(bot_token))
        posts = [await post_photo(client, author_token, jpeg(40, 30)) for _ in range(2)]
        async with Bot.connect(live_server.url, token=bot_token) as bot:
            liked = await like_bot.run(bot, stop_after=2)
        assert sorted(liked) == sorted(post["post_id"] for post in posts)


async def test_a_dropped_connection_resumes_with_each_event_once(
        client: httpx.AsyncClient, relay: Relay) -> None:
    with trio.fail_after(40):
        token, user = await register(client)
        fans = [await register(client) for _ in range(3)]

        async def followed_by(fan: tuple[str, dict[str, Any]]) -> None:
            answer = await client.post(f"/api/users/{user['username']}/follow",
                                       headers=bearer(fan[0]))
            assert answer.status_code == 200, answer.text

        async with Bot.connect(relay.url, token=token) as bot:
            events = bot.events()
            assert isinstance(await anext(events), Resync)  # a first connection
            first_session = bot.session_id
            await followed_by(fans[0])
            seen = [await anext(events)]

            relay.cut_websockets(hold=True)
            await followed_by(fans[1])  # while the bot is away
            relay.release()
            seen.append(await anext(events))
            await followed_by(fans[2])
            seen.append(await anext(events))

            assert relay.websockets == 2 and bot.session_id != first_session
            follows = [e for e in seen if isinstance(e, Notification) and e.kind == "follow"]
            assert len(follows) == len(seen), seen
            assert [e.actor["username"] for e in follows] == [fan[1]["username"] for fan in fans]
            assert bot.last_event_id == follows[-1].id
            with trio.move_on_after(0.5):  # and nothing twice
                extra = await anext(events)
                pytest.fail(f"unexpected {extra}")


async def test_logout_ends_events_with_signed_out(client: httpx.AsyncClient,
                                                  live_server: ServerProcess) -> None:
    with trio.fail_after(20):
        token, _ = await register(client)
        with pytest.raises(SignedOut):  # out of the block as it was raised, not in a group
            async with Bot.connect(live_server.url, token=token) as bot:
                events = bot.events()
                assert isinstance(await anext(events), Resync)
                await client.post("/api/auth/logout", headers=bearer(token))
                async for _ in events:
                    pass
        with pytest.raises(ApiError) as refused:  # and signing in with it again fails
            async with Bot.connect(live_server.url, token=token):
                pass
        assert refused.value.status == 401


async def test_the_bot_answers_pings(tmp_path: Path) -> None:
    """With a ping every 0.3 s and 0.25 s to answer, the session outlives many pings."""
    env = {"PIXTRIO_WS_PING_INTERVAL": "0.3", "PIXTRIO_WS_PING_TIMEOUT": "0.25"}
    with ServerProcess(tmp_path / "data", env=env) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            token, _ = await register(http)
        with trio.fail_after(20):
            async with Bot.connect(server.url, token=token) as bot:
                events = bot.events()
                assert isinstance(await anext(events), Resync)
                session = bot.session_id
                with trio.move_on_after(2.5):
                    extra = await anext(events)  # a Resync would mean it reconnected
                    pytest.fail(f"unexpected {extra}")
                assert bot.session_id == session
