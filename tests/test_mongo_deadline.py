"""The MongoDB adapter keeps its caller's trio deadline while MongoDB hangs."""

from __future__ import annotations

from functools import partial

import pymongo
import trio

from pixtrio.edge.routes.ops import READY_WITHIN_S
from pixtrio.storage.errors import StorageError
from pixtrio.storage.mongo import MongoStore


async def black_hole(stream: trio.SocketStream) -> None:
    """Take the connection, never answer: a MongoDB that hangs."""
    await trio.sleep_forever()


async def test_ping_answers_by_the_readiness_deadline_while_mongodb_hangs() -> None:
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, black_hole, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            f"mongodb://127.0.0.1:{port}/pixtrio", connect=False)
        store = MongoStore(client, "pixtrio")
        started = trio.current_time()
        outcome = "answered"
        try:
            with trio.fail_after(READY_WITHIN_S):  # as /readyz probes the store
                await store.ping()
        except (StorageError, trio.TooSlowError):
            outcome = "failing"
        assert outcome == "failing"
        # the bound the issue demands: /readyz answers within its 2 s, give or take
        assert trio.current_time() - started < READY_WITHIN_S + 0.5
        await store.aclose()
        nursery.cancel_scope.cancel()
