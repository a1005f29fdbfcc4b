"""A bot that likes every new post of the accounts it follows.

    python -m examples.like_bot --url http://127.0.0.1:8080 --username U --password P

It likes each `feed.insert` as it arrives; after a `Resync` (on start, or when the server
could not replay what the bot missed while disconnected) it fetches the feed and likes
the posts it has not liked yet. Its own posts are left alone. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable
from typing import Any

import trio

from pixtrio.protocol.client import ApiError, Bot, FeedInsert, Resync

log = logging.getLogger("pixtrio.like_bot")

RESYNC_PAGE = 50
"""How much of the feed a Resync looks at: the newest posts are the ones missed."""


async def run(bot: Bot, *, stop_after: int | None = None) -> list[str]:
    """Like posts as they come until the Bot closes (or after `stop_after` likes); returns
    the ids of the posts liked, in order. Raises SignedOut if the token is revoked."""
    liked: list[str] = []
    me = bot.user["user_id"]
    async for event in bot.events():
        posts: Iterable[dict[str, Any]]
        if isinstance(event, FeedInsert):
            posts = [event.post]
        elif isinstance(event, Resync):
            posts = [post for post in (await bot.feed(limit=RESYNC_PAGE))["posts"]
                     if not post["liked_by_viewer"]]
        else:
            continue
        for post in posts:
            if post["author"]["user_id"] == me:
                continue
            try:
                await bot.like(post["post_id"])
            except ApiError as exc:
                if exc.status != 404:  # deleted meanwhile: nothing to like
                    raise
                continue
            log.info("liked %s by %s", post["post_id"], post["author"]["username"])
            liked.append(post["post_id"])
            if stop_after is not None and len(liked) >= stop_after:
                return liked
    return liked


async def main(url: str, username: str, password: str) -> None:
    async with Bot.connect(url, username=username, password=password) as bot:
        log.info("signed in as %s", bot.user["username"])
        await run(bot)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8080")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        trio.run(main, args.url, args.username, args.password)
    except KeyboardInterrupt:
        pass
