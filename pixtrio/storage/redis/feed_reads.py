"""A feed page's Redis side in one round trip: the candidates and what is cached about them.

One Lua call, over the lean client:
- signs the viewer in from the session-token cache when given a token instead of an id
  (`session_tokens`; a token not cached there is left to the caller);
- reads the viewer's following and liked sets (`mirrored_sets`) and stops there if
  either is missing;
- merges the viewer's timeline with the recent posts of the pulled authors they follow,
  newest first;
- returns for the first `want` candidates their post-cache entries (generations of the
  missing ones), like totals (summed over the shards in Redis) and whether the viewer
  likes them;
- returns the distinct authors of the cached entries, whether the viewer follows each,
  and their cards (`author_cards`; generations of the missing ones).
A page thus needs no metadata-store query for follows, likes or authors once warm.

The script reads keys it derives from ids (cache entries, counters, cards, recent sets),
so it assumes one Redis primary, like the fan-out scripts (see docs/design.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.lean import LeanRedis, Script
from pixtrio.storage.redis.mirrored_sets import BUILT
from pixtrio.storage.redis.post_cache import Lookup, PostCache
from pixtrio.storage.redis.session_tokens import CACHED_SIGN_IN, USER_TEMPLATE
from pixtrio.storage.redis.timelines import SENTINEL, member, score

_ID = cast(int, "%s")  # where string.format puts an id (and a shard number)
_SHARD_PREFIX = keys.like_shard(_ID, cast(int, ""))  # a post's shard keys: this, then 0, 1...
_TEMPLATES = (keys.post_cache(_ID), keys.post_generation(_ID), _SHARD_PREFIX,
              keys.author_card(_ID), keys.author_card_generation(_ID), keys.author_recent(_ID))

_VIEWER_TEMPLATES = (keys.timeline(_ID), keys.following(_ID), keys.liked(_ID))

_PAGE = Script(CACHED_SIGN_IN + """
local high_score, high_member = ARGV[1], ARGV[2]
local want, shards, ttl, built_marker = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
local entry_key, gen_key, shard_prefix = ARGV[7], ARGV[8], ARGV[9]
local card_key, card_gen_key, recent_key, sentinel = ARGV[10], ARGV[11], ARGV[12], ARGV[13]
local timeline_key, following_key, liked_key = ARGV[14], ARGV[15], ARGV[16]
local viewer, token_key, token_ttl, users_set = ARGV[17], ARGV[18], ARGV[19], ARGV[20]
if viewer == '' then
  local _, user = cached_sign_in(token_key, token_ttl, users_set)
  if not user then return {-1} end
  viewer = user
end
local celebrities = KEYS[1]
local timeline = string.format(timeline_key, viewer)
local following = string.format(following_key, viewer)
local liked = string.format(liked_key, viewer)
local following_built = redis.call('SISMEMBER', following, built_marker)
local liked_built = redis.call('SISMEMBER', liked, built_marker)
if following_built == 0 or liked_built == 0 then
  return {0, viewer, following_built, liked_built}
end
redis.call('EXPIRE', following, ttl)
redis.call('EXPIRE', liked, ttl)
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
local pulled = redis.call('SINTER', celebrities, following)
local sets = {timeline}
for _, author in ipairs(pulled) do sets[#sets + 1] = string.format(recent_key, author) end
local timeline_built, unbuilt, merged, seen, exhausted = 1, {}, {}, {}, 1
for i, key in ipairs(sets) do
  if not redis.call('ZSCORE', key, sentinel) then
    if i == 1 then timeline_built = 0 else unbuilt[#unbuilt + 1] = pulled[i - 1] end
  end
  local ids = below(key)
  if #ids >= want then exhausted = 0 end
  for _, m in ipairs(ids) do
    if not seen[m] then seen[m] = true; merged[#merged + 1] = m end
  end
end
redis.call('EXPIRE', timeline, ttl)
table.sort(merged)  -- ascending: the default order is far cheaper than a Lua comparator
local last = #merged
if last > want then exhausted = 0 end
local ids, entries, gens, counts, authors, seen_author, shard_names = {}, {}, {}, {}, {}, {}, {}
for j = 1, math.min(want, last) do
  local id = string.gsub(merged[last + 1 - j], '^0+', '')
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
  local prefix = string.format(shard_prefix, id)
  for s = 0, shards - 1 do shard_names[s + 1] = prefix .. s end
  local total, counted = 0, false
  for _, v in ipairs(redis.call('MGET', unpack(shard_names))) do
    if v then total = total + tonumber(v); counted = true end
  end
  counts[j] = counted and total or -1
end
local likes, followed, cards, card_gens = {}, {}, {}, {}
if #ids > 0 then likes = redis.call('SMISMEMBER', liked, unpack(ids)) end
if #authors > 0 then followed = redis.call('SMISMEMBER', following, unpack(authors)) end
for i, author in ipairs(authors) do
  local card = redis.call('GET', string.format(card_key, author))
  cards[i], card_gens[i] = card or '', ''
  if not card then card_gens[i] = redis.call('GET', string.format(card_gen_key, author)) or '' end
end
return {1, viewer, timeline_built, unbuilt, exhausted, ids, entries, gens, counts, likes,
        authors, followed, cards, card_gens}
""")


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
        high = (score(before), member(before)) if before is not None else (0, "")
        by_token = isinstance(viewer, str)
        answer: Any = await self._client.run_script(
            _PAGE, keys=[keys.celebrities()],
            args=[*high, want, self._shards, self._ttl_s, BUILT, *_TEMPLATES, SENTINEL,
                  *_VIEWER_TEMPLATES, "" if by_token else viewer,
                  keys.session_token(str(viewer)) if by_token else "", self._token_ttl_s,
                  USER_TEMPLATE])
        if answer[0] < 0:
            return PageRead(viewer_id=None)
        viewer_id = int(answer[1])
        if answer[0] == 0:
            return PageRead(viewer_id, following_built=bool(answer[2]),
                            liked_built=bool(answer[3]))
        (_, _, timeline_built, unbuilt, exhausted, ids, entries, gens, counts, likes, authors,
         followed, cards, card_gens) = answer
        candidates = [int(i) for i in ids]
        author_ids = [int(a) for a in authors]
        return PageRead(
            viewer_id=viewer_id, following_built=True, liked_built=True,
            timeline_built=bool(timeline_built),
            unbuilt_pulled=[int(a) for a in unbuilt], exhausted=bool(exhausted),
            candidates=candidates,
            lookup=PostCache.parse(candidates, [e or None for e in entries],
                                   [g.decode() for g in gens]),
            counts={p: int(c) for p, c in zip(candidates, counts, strict=True) if int(c) >= 0},
            liked={p for p, like in zip(candidates, likes, strict=True) if like},
            authors=set(author_ids),
            followed={a for a, f in zip(author_ids, followed, strict=True) if f},
            cards={a: c for a, c in zip(author_ids, cards, strict=True) if c},
            card_generations={a: g.decode() for a, c, g in zip(author_ids, cards, card_gens,
                                                                 strict=True) if not c})
