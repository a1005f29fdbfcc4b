"""Authors' cards in Redis: each user as API.md's post `author` ({user_id, username,
profile_pic}) in JSON, read by the feed's page script next to the posts, so a page needs
no metadata-store query for its authors. Filled on a miss and replaced on a change (a
new profile picture; usernames never change) through `GuardedCache`."""

from __future__ import annotations

from collections.abc import Mapping

import coredis

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.guarded_cache import Fill, GuardedCache


class AuthorCards:
    def __init__(self, client: coredis.Redis[str], *, ttl_s: int) -> None:
        self._guarded = GuardedCache(client, ttl_s=ttl_s)

    async def fill(self, cards: Mapping[int, str], generations: Mapping[int, str]) -> None:
        """Cache the cards read from the store, each only if its generation is unchanged."""
        await self._guarded.fill([Fill(keys.author_card(u), keys.author_card_generation(u),
                               generations[u], card)
                          for u, card in cards.items() if u in generations])

    async def changed(self, user_id: int, card: str) -> None:
        """After a change in the store: the user's new card."""
        await self._guarded.changed(keys.author_card(user_id),
                                    keys.author_card_generation(user_id), card)
