"""Authors' cards in Redis: each user as API.md's post `author` ({user_id, username,
profile_pic}) in JSON, read by the feed's page script next to the posts, so a page needs
no metadata-store query for its authors. Filled on a miss with `GuardedFill`; a change
(a new profile picture; usernames never change) replaces the card and bumps its
generation."""

from __future__ import annotations

from collections.abc import Mapping

import coredis

from . import keys
from .client import redis_errors
from .guarded_fill import Fill, GuardedFill

_CHANGED = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 0
"""


class AuthorCards:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int) -> None:
        self._ttl_s = ttl_s
        self._fill = GuardedFill(client, ttl_s=ttl_s)
        self._changed = client.register_script(_CHANGED)

    async def fill(self, cards: Mapping[int, str], generations: Mapping[int, str]) -> None:
        """Cache the cards read from the store, each only if its generation is unchanged."""
        await self._fill([Fill(keys.author_card(u), keys.author_card_generation(u),
                               generations[u], card)
                          for u, card in cards.items() if u in generations])

    async def changed(self, user_id: int, card: str) -> None:
        """After a change in the store: the user's new card."""
        with redis_errors():
            await self._changed(keys=[keys.author_card(user_id),
                                      keys.author_card_generation(user_id)],
                                args=[card, str(self._ttl_s)])
