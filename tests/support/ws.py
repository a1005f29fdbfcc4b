"""A websocket client for tests: trio-websocket speaking the `protocol` codecs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from pixtrio.protocol.codecs import JSON, Codec
from pixtrio.protocol.messages import Auth, Hello


class Client:
    def __init__(self, ws: WebSocketConnection, codec: Codec) -> None:
        self.ws = ws
        self.codec = codec

    async def send(self, message: object) -> None:
        await self.ws.send_message(self.codec.encode(message))  # type: ignore[arg-type]

    async def next(self, within: float = 10) -> Any:
        """The next server message, decoded (fails after `within` seconds)."""
        with trio.fail_after(within):
            return self.codec.decode_server(await self.ws.get_message())

    async def next_of(self, kind: type, within: float = 30) -> Any:
        """The next message of type `kind`, skipping pings and other events."""
        with trio.fail_after(within):
            while not isinstance(message := await self.next(within), kind):
                pass
            return message

    async def closed_with(self, within: float = 10) -> int | None:
        """Read until the server closes; its close code."""
        with trio.fail_after(within):
            try:
                while True:
                    await self.ws.get_message()
            except ConnectionClosed as closed:
                return closed.reason.code


@asynccontextmanager
async def connect(base_url: str, token: str | None = None, *, codec: Codec = JSON,
                  header: bool = False, since: str | None = None,
                  hello: bool = True) -> AsyncIterator[Client]:
    """A session on `base_url`'s `/ws`, signed in by `auth` message (or Bearer header);
    with `hello`, waits for it and leaves it in `client.hello`."""
    url = base_url.replace("http://", "ws://") + "/ws"
    headers = [("Authorization", f"Bearer {token}")] if header and token else []
    if header and since:
        url += f"?since={since}"
    async with open_websocket_url(url, subprotocols=[codec.name],
                                  extra_headers=headers) as ws:  # type: ignore[arg-type]
        client = Client(ws, codec)
        if token is not None and not header:
            await client.send(Auth(token, since))
        if hello:
            client.hello = await client.next()  # type: ignore[attr-defined]
            assert isinstance(client.hello, Hello), client.hello  # type: ignore[attr-defined]
        yield client
