"""A bare trio-websocket broadcast server: the ceiling of the Python websocket stack.

    python -m bench.ws_ceiling [--host 127.0.0.1] [--port 0] [--mailbox 256]

`bench.realtime` runs it as a child process and drives it with the same `bench.ws_load`
processes as Pixtrio, to measure what trio + trio-websocket (wsproto) can deliver on this
machine with nothing else on the path: no Redis, no ASGI, no sessions' state.

Prints one JSON line `{"url": "ws://HOST:PORT", "pid": PID}` on stdout once it listens.

- `/ws`, any other path but `/publish`: a client. It is accepted with the
  `pixtrio.v1.msgpack` subprotocol when offered; its first message (any: `auth`) is
  answered with a fixed `hello`; then it only receives broadcasts (what it sends is
  read and ignored).
- `/publish`: the trigger. Each binary message is one broadcast: its first byte picks
  how, the rest is the frame sent, unchanged, to every client:
  - `L` (loop): one task sends the frame to each client in turn
    (`await ws.send_message`), the simplest possible broadcast;
  - `T` (tasks): the frame is offered without blocking to each client's mailbox (a
    `trio` memory channel of `--mailbox` frames) and each client's writer task sends it
    (a full mailbox closes that client with 4008): the shape Pixtrio had while its
    sessions sent through hypercorn.
  `?` answers `{"clients": n}` (as text).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket

from pixtrio.protocol.codecs import MSGPACK
from pixtrio.protocol.messages import CloseCode, Hello

HELLO = MSGPACK.encode(Hello("0" * 16, {"user_id": "1", "username": "ceiling",
                                        "profile_pic": None}, False))


class Client:
    def __init__(self, ws: WebSocketConnection, mailbox: int) -> None:
        self.ws = ws
        self.outbox, self.inbox = trio.open_memory_channel[bytes](mailbox)


class Ceiling:
    def __init__(self, mailbox: int) -> None:
        self.mailbox = mailbox
        self.clients: set[Client] = set()

    async def handle(self, request: WebSocketRequest) -> None:
        if request.path.startswith("/publish"):
            await self.publisher(await request.accept())
            return
        offered = request.proposed_subprotocols
        ws = await request.accept(subprotocol=MSGPACK.name if MSGPACK.name in offered else None)
        client: Client | None = None
        try:
            await ws.get_message()
            await ws.send_message(HELLO)
            client = Client(ws, self.mailbox)
            self.clients.add(client)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.writer, client)
                await self.reader(ws)
                nursery.cancel_scope.cancel()
        except ConnectionClosed:
            pass
        finally:
            if client is not None:
                self.clients.discard(client)

    async def reader(self, ws: WebSocketConnection) -> None:
        """Read (and ignore) what the client sends until it goes."""
        try:
            while True:
                await ws.get_message()
        except ConnectionClosed:
            pass

    async def writer(self, client: Client) -> None:
        try:
            async for frame in client.inbox:
                await client.ws.send_message(frame)
        except ConnectionClosed:
            pass

    async def publisher(self, ws: WebSocketConnection) -> None:
        try:
            while True:
                message = await ws.get_message()
                if isinstance(message, str) or not message:
                    continue
                mode, frame = message[:1], message[1:]
                if mode == b"L":
                    for client in list(self.clients):
                        try:
                            await client.ws.send_message(frame)
                        except ConnectionClosed:
                            self.clients.discard(client)
                elif mode == b"T":
                    for client in list(self.clients):
                        try:
                            client.outbox.send_nowait(frame)
                        except trio.WouldBlock:
                            self.clients.discard(client)
                            await client.ws.aclose(CloseCode.TOO_SLOW)
                elif mode == b"?":
                    await ws.send_message(json.dumps({"clients": len(self.clients)}))
        except ConnectionClosed:
            pass


async def serve(args: argparse.Namespace) -> None:
    ceiling = Ceiling(args.mailbox)
    async with trio.open_nursery() as nursery:
        server = await nursery.start(serve_websocket, ceiling.handle, args.host, args.port, None)
        print(json.dumps({"url": f"ws://{args.host}:{server.port}", "pid": os.getpid()}),
              flush=True)
        await trio.sleep_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ws_ceiling",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mailbox", type=int, default=256, help="frames per client (mode T)")
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        trio.run(serve, args)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
