"""A feed page's Redis side: the candidates and what is cached about them.

In four steps over the lean client, each one round trip per node it touches (the nodes
concurrently), every script on one slot:
1. the pulled authors (celebrities) and, when given a token instead of an id, who the
   session-token cache signs in (`session_tokens`; a token not cached there is left to
   the caller);
2. on the viewer's slot (`feed_viewer.lua`): the viewer's following and liked sets
   (`mirrored_sets`; it stops there if either is missing), the timeline's candidates
   below the position, and which pulled authors the viewer follows; then, if any, those
   authors' recent posts (`feed_recent.lua`), merged newest first;
3. for the first `want` candidates, their post-cache entries, generations and like
   counter shards (plain reads);
4. the cached entries' authors' cards (`author_cards`) and generations, which of them the
   viewer follows and which candidates the viewer likes.
A page thus needs no metadata-store query for follows, likes or authors once warm.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.lean import LeanRedis, Script, command, evalsha
from pixtrio.storage.redis.mirrored_sets import BUILT
from pixtrio.storage.redis.post_cache import Lookup, PostCache
from pixtrio.storage.redis.scripts import source
from pixtrio.storage.redis.session_tokens import parse_user_id
from pixtrio.storage.redis.timelines import SENTINEL, member, score

_VIEWER = Script(source("feed_below.part", "feed_viewer"))
_RECENT = Script(source("feed_below.part", "feed_recent"))


@dataclass(frozen=True)
class PageRead:
    """What the page script saw. `viewer_id` is None when a token was not signed in in the
    session-token cache; unless `following_built` and `liked_built`, nothing else was
    read. `candidates` are newest first; `counts` holds like totals of posts that
    have counters, `liked` the candidates the viewer likes; `authors` are those of the
    cached candidates, `followed` those of them the viewer follows; `cards` the authors'
    cards found, `card_generations` the generations of those missing."""

    viewer_id: int | None
    following_built: bool = False
    liked_built: bool = False
    timeline_built: bool = True
    unbuilt_pulled: list[int] = field(default_factory=list)
    exhausted: bool = True
    candidates: list[int] = field(default_factory=list)
    lookup: Lookup = field(default_factory=Lookup)
    counts: dict[int, int] = field(default_factory=dict)
    liked: set[int] = field(default_factory=set)
    authors: set[int] = field(default_factory=set)
    followed: set[int] = field(default_factory=set)
    cards: dict[int, bytes] = field(default_factory=dict)
    card_generations: dict[int, str] = field(default_factory=dict)


class FeedReads:
    def __init__(self, client: LeanRedis, *, ttl_s: int, shards: int, token_ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._shards = shards
        self._token_ttl_s = token_ttl_s

    async def read_page(self, viewer: int | str, *, before: int | None, want: int) -> PageRead:
        """Candidates below `before` from the timeline of `viewer` (a user id, or a
        token's hash in hex to sign in from the session-token cache) and the recent sets of
        the pulled authors they follow (renewing the expiry of the viewer's sets), with
        their cached state."""
        high: tuple[int, str] = (score(before), member(before)) if before is not None else (0, "")
        first = [command("SMEMBERS", keys.celebrities(), route=keys.celebrities())]
        if isinstance(viewer, str):
            token = keys.session_token(viewer)
            first.append(command("GETEX", token, "EX", self._token_ttl_s, route=token))
        answers = await self._client.execute(first)
        celebrities: list[bytes] = answers[0]
        viewer_id = parse_user_id(answers[1]) if isinstance(viewer, str) else viewer
        if viewer_id is None:
            return PageRead(viewer_id=None)
        following, liked = keys.following(viewer_id), keys.liked(viewer_id)
        answer: Any = await self._client.run_script(
            _VIEWER, [keys.timeline(viewer_id), following, liked, keys.session_tokens_of(viewer_id)],
            [*high, want, self._ttl_s, BUILT, SENTINEL,
             self._token_ttl_s if isinstance(viewer, str) else "", *celebrities])
        if answer[0] == 0:
            return PageRead(viewer_id, following_built=bool(answer[1]), liked_built=bool(answer[2]))
        _, timeline_built, found, pulled = answer
        members, exhausted, unbuilt = set(found), len(found) < want, []
        if pulled:
            recents = await self._client.execute([
                evalsha(_RECENT, [keys.author_recent(int(a))], [*high, want, SENTINEL])
                for a in pulled])
            for author, (built, more) in zip(pulled, recents, strict=True):
                if not built:
                    unbuilt.append(int(author))
                exhausted = exhausted and len(more) < want
                members.update(more)
        exhausted = exhausted and len(members) <= want
        candidates = [int(m) for m in sorted(members, reverse=True)[:want]]
        read = PageRead(viewer_id, following_built=True, liked_built=True,
                        timeline_built=bool(timeline_built), unbuilt_pulled=unbuilt,
                        exhausted=exhausted, candidates=candidates)
        return await self._read_candidates(read, following, liked) if candidates else read

    async def _read_candidates(self, read: PageRead, following: str, liked: str) -> PageRead:
        """`read` with what is cached about its candidates and their authors."""
        shards = self._shards
        names = [name for p in read.candidates for name in (
            keys.post_cache(p), keys.post_generation(p),
            *(keys.like_shard(p, n) for n in range(shards)))]
        values = self._client.values(await self._client.execute(self._client.reads(names)))
        step = 2 + shards
        entries, generations = values[0::step], values[1::step]
        lookup = PostCache.parse(read.candidates, entries,
                                 [g.decode() if g else None for g in generations])
        counts = {}
        for i, post_id in enumerate(read.candidates):
            counters = [int(v) for v in values[i * step + 2:(i + 1) * step] if v is not None]
            if counters:
                counts[post_id] = sum(counters)
        authors = sorted({post.author_id for post in lookup.found.values()})
        card_names = [name for a in authors
                      for name in (keys.author_card(a), keys.author_card_generation(a))]
        asks = [command("SMISMEMBER", liked, *read.candidates, route=liked)]
        if authors:
            asks.append(command("SMISMEMBER", following, *authors, route=following))
        answers = await self._client.execute([*asks, *self._client.reads(card_names)])
        liked_ids = {p for p, yes in zip(read.candidates, answers[0], strict=True) if yes}
        followed = ({a for a, yes in zip(authors, answers[1], strict=True) if yes}
                    if authors else set())
        card_values = self._client.values(answers[len(asks):])
        cards, card_generations = {}, {}
        for author, card, generation in zip(authors, card_values[0::2], card_values[1::2],
                                            strict=True):
            if card:
                cards[author] = card
            else:
                card_generations[author] = generation.decode() if generation else ""
        return replace(read, lookup=lookup, counts=counts, liked=liked_ids,
                       authors=set(authors), followed=followed, cards=cards,
                       card_generations=card_generations)
