"""A feed page's Redis side in one round trip: the candidates and what is cached about them.

One Lua call reads the viewer's timeline and the recent posts of the pulled authors they
follow, merges them newest first, and returns for the first `want` candidates their
post-cache entries and generations and their like totals (summed over the shards in
Redis), plus the current set of pulled authors. A page used to take four round trips and
parse every shard of every counter; on this path that was a third of a page's CPU.

The script reads keys it derives from post ids (cache entries, counters), so it assumes
one Redis primary, like the fan-out scripts (see the README's design notes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from . import keys
from .lean import LeanRedis, Script
from .post_cache import Lookup, PostCache
from .timelines import SENTINEL, member, score

_ID = cast(int, "%s")  # where string.format puts a post id (and a shard number)
_TEMPLATES = (keys.post_cache(_ID), keys.post_generation(_ID), keys.like_shard(_ID, _ID),
              keys.author_card(_ID), keys.author_card_generation(_ID))

_PAGE = Script("""
local high_score, high_member = ARGV[1], ARGV[2]
local want, shards, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]
local entry_key, gen_key, shard_key = ARGV[6], ARGV[7], ARGV[8]
local card_key, card_gen_key, sentinel = ARGV[9], ARGV[10], ARGV[11]
local function below(key)  -- up to `want` members below the position, newest first
  if high_member == '' then
    return redis.call('ZRANGE', key, '+inf', 0, 'BYSCORE', 'REV', 'LIMIT', 0, want)
  end
  local ids = {}
  for _, m in ipairs(redis.call('ZRANGE', key, high_score, high_score, 'BYSCORE', 'REV')) do
    if m < high_member and #ids < want then ids[#ids + 1] = m end
  end
  if #ids < want then
    for _, m in ipairs(redis.call('ZRANGE', key, '(' .. high_score, 0, 'BYSCORE', 'REV',
                                  'LIMIT', 0, want - #ids)) do
      ids[#ids + 1] = m
    end
  end
  return ids
end
local built, merged, seen, exhausted = {}, {}, {}, 1
for i = 2, #KEYS do
  built[i - 1] = redis.call('ZSCORE', KEYS[i], sentinel) and 1 or 0
  local ids = below(KEYS[i])
  if #ids >= want then exhausted = 0 end
  for _, m in ipairs(ids) do
    if not seen[m] then seen[m] = true; merged[#merged + 1] = m end
  end
end
redis.call('EXPIRE', KEYS[2], ttl)
table.sort(merged, function(a, b) return a > b end)
if #merged > want then exhausted = 0 end
local ids, entries, gens, counts, authors, seen_author, shard_names = {}, {}, {}, {}, {}, {}, {}
for j = 1, math.min(want, #merged) do
  local id = string.gsub(merged[j], '^0+', '')
  ids[j] = id
  local entry = redis.call('GET', string.format(entry_key, id))
  entries[j], gens[j] = entry or '', ''
  if entry then  -- the author id is the entry's second field (`post_cache._encode`)
    local author = string.match(entry, '^{"post_id":%d+,"author_id":(%d+)')
    if author and not seen_author[author] then
      seen_author[author] = true; authors[#authors + 1] = author
    end
  else
    gens[j] = redis.call('GET', string.format(gen_key, id)) or ''
  end
  for s = 0, shards - 1 do shard_names[s + 1] = string.format(shard_key, id, s) end
  local total, counted = 0, false
  for _, v in ipairs(redis.call('MGET', unpack(shard_names))) do
    if v then total = total + tonumber(v); counted = true end
  end
  counts[j] = counted and total or -1
end
local cards, card_gens = {}, {}
for i, author in ipairs(authors) do
  local card = redis.call('GET', string.format(card_key, author))
  cards[i], card_gens[i] = card or '', ''
  if not card then card_gens[i] = redis.call('GET', string.format(card_gen_key, author)) or '' end
end
return {built, exhausted, ids, entries, gens, counts, redis.call('SMEMBERS', KEYS[1]),
        authors, cards, card_gens}
""")


@dataclass(frozen=True)
class PageRead:
    """`built[i]` says whether set i (the timeline, then each pulled author's) exists;
    `candidates` are newest first; `counts` holds like totals of posts that have counters."""

    built: list[bool]
    exhausted: bool
    candidates: list[int]
    lookup: Lookup
    counts: dict[int, int]
    pulled: set[int]
    cards: dict[int, bytes]
    card_generations: dict[int, str]


class FeedReads:
    def __init__(self, client: LeanRedis, *, ttl_s: int, shards: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._shards = shards

    async def read_page(self, viewer_id: int, pulled: Sequence[int], *, before: int | None,
                        want: int) -> PageRead:
        """Candidates below `before` from the viewer's timeline and the recent sets of
        `pulled` (renewing the timeline's expiry), with their cached state."""
        high = (score(before), member(before)) if before is not None else (0, "")
        answer: Any = await self._client.run_script(
            _PAGE, keys=[keys.celebrities(), keys.timeline(viewer_id),
                         *(keys.author_recent(a) for a in pulled)],
            args=[*high, want, self._shards, self._ttl_s, *_TEMPLATES, SENTINEL])
        built, exhausted, ids, entries, gens, counts, celebrities, authors, cards, card_gens = answer
        candidates = [int(i) for i in ids]
        return PageRead(
            built=[bool(b) for b in built], exhausted=bool(exhausted), candidates=candidates,
            lookup=PostCache.parse(candidates, [e or None for e in entries],
                                   [g.decode() for g in gens]),
            counts={p: int(c) for p, c in zip(candidates, counts, strict=True) if int(c) >= 0},
            pulled={int(c) for c in celebrities},
            cards={int(a): c for a, c in zip(authors, cards, strict=True) if c},
            card_generations={int(a): g.decode() for a, c, g in zip(authors, cards, card_gens,
                                                                     strict=True) if not c})
