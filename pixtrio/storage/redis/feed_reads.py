"""A feed page's Redis side: the candidates and what is cached about them.

Normally two steps over the lean client, each one round trip per node it touches (the
nodes concurrently; one pipelined send on one server), every script on one slot:
1. the pulled authors (celebrities) and, when given a token instead of an id, who the
   session-token cache signs in (`session_tokens`; a token not cached there is left to
   the caller); with them, guessed from the process's memory (the token's user and the
   pulled set read last time), the script on the viewer's slot (`feed_viewer.lua`: the
   viewer's following and liked sets (`mirrored_sets`; it stops there if either is
   missing), the timeline's candidates below the position, which pulled authors the
   viewer follows) and every pulled author's recent posts (`feed_recent.lua`), of which
   those the viewer follows are merged newest first. A wrong guess (a token new to the
   process, a changed pulled set) discards those answers and reads them again: one more
   step;
2. for the first `want` candidates, their post-cache entries, generations and like
   counters (plain reads), which of them the viewer likes, and for the authors the
   process remembers for them, which the viewer follows (and does not mute: the
   `following` set), which are suspended or private (`suspended_set`, `private_set`),
   and their cards
   (`author_cards`); other authors of cached entries take one more step.
A page thus needs no metadata-store query for follows, likes or authors once warm.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from pixtrio.storage.redis import keys
from pixtrio.storage.redis.lean import Call, LeanRedis, Script, command, evalsha
from pixtrio.storage.redis.mirrored_sets import BUILT
from pixtrio.storage.redis.post_cache import Lookup, PostCache
from pixtrio.storage.redis.scripts import source
from pixtrio.storage.redis.session_tokens import parse_user_id
from pixtrio.storage.redis.timelines import SENTINEL, member, score
from pixtrio.storage.types import Post

_VIEWER = Script(source("feed_below.part", "feed_viewer"))
_RECENT = Script(source("feed_below.part", "feed_recent"))


@dataclass(frozen=True)
class PageRead:
    """What the page script saw. `viewer_id` is None when a token was not signed in in the
    session-token cache; unless `following_built` and `liked_built`, nothing else was
    read. `candidates` are newest first; `counts` holds like totals of posts that
    have counters, `liked` the candidates the viewer likes; `authors` are those of the
    cached candidates, `followed` those of them the viewer follows (and does not mute),
    `suspended` those suspended (only if `suspended_built`: else the set was missing),
    `private` those private (only if `private_built`);
    `cards` the authors' cards found, `card_generations` the generations of those
    missing."""

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
    suspended: set[int] = field(default_factory=set)
    suspended_built: bool = True
    private: set[int] = field(default_factory=set)
    private_built: bool = True
    cards: dict[int, bytes] = field(default_factory=dict)
    card_generations: dict[int, str] = field(default_factory=dict)


AUTHORS_KEEP = 65_536
"""Post ids whose author is remembered in process (an author never changes; about 7 MiB),
so a page asks about the authors of the posts it remembers with the entries themselves.
More than the decoded entries kept (`DECODED_KEEP`): the pages of many viewers span more
posts than that, and an id and its author cost about a hundred bytes, not kilobytes."""

HELD_KEEP = 32_768
"""Posts whose cache entry is held in process with its generation: a page then reads only
the generation of a held post, and the entry (about a kilobyte, and its decoding) only
when that moved. About 2.9 KiB a post, so at most ~93 MiB; 8,192 held too few of the
posts `bench.feed_read`'s 2,000 viewers' first pages span to move its figures."""

VIEWERS_KEEP = 4096
"""Token hashes whose user is remembered in process (a token never changes hands), so a
page reads the viewer's sets in the same round trip as the token's entry."""


class FeedReads:
    def __init__(self, client: LeanRedis, *, ttl_s: int, token_ttl_s: int) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._token_ttl_s = token_ttl_s
        self._authors: dict[int, int] = {}
        self._viewers: dict[str, int] = {}
        self._held = _Held(HELD_KEEP)
        self._celebrities: list[bytes] = []

    def remember_token(self, token_hash_hex: str, viewer_id: int) -> None:
        """Note whom a token signs in, so its next page goes in the first round trip (a
        token signed in the slow way, through the store, is not known here otherwise)."""
        self._viewers[token_hash_hex] = viewer_id
        if len(self._viewers) > VIEWERS_KEEP:
            del self._viewers[next(iter(self._viewers))]

    async def read_page(self, viewer: int | str, *, before: int | None, want: int) -> PageRead:
        """Candidates below `before` from the timeline of `viewer` (a user id, or a
        token's hash in hex to sign in from the session-token cache) and the recent sets of
        the pulled authors they follow (renewing the expiry of the viewer's sets), with
        their cached state.

        The viewer's script and every pulled author's recent set go in the round trip that
        reads the pulled set and the token's entry, for the user the token signed in last
        time and the pulled set read last time; the answers are used only if the entry
        still signs that user in and the pulled set is the same, else they are read again
        for what was read now. So a revoked token is never served, and a post of an author
        who just became pulled is never missed."""
        high: tuple[int, str] = (score(before), member(before)) if before is not None else (0, "")
        token = isinstance(viewer, str)
        first = [command("SMEMBERS", keys.celebrities(), route=keys.celebrities())]
        if isinstance(viewer, str):
            entry = keys.session_token(viewer)
            first.append(command("GETEX", entry, "EX", self._token_ttl_s, route=entry))
            guess = self._viewers.get(viewer)
        else:
            guess = viewer
        guessed = self._celebrities
        answers = await self._client.execute(
            [*first, *self._viewer_calls(guess, high, want, token, guessed)]
            if guess is not None else first)
        celebrities: list[bytes] = answers[0]
        viewer_id = parse_user_id(answers[1]) if isinstance(viewer, str) else viewer
        if viewer_id is None:
            return PageRead(viewer_id=None)
        if isinstance(viewer, str) and viewer_id != guess:
            self.remember_token(viewer, viewer_id)
        self._celebrities = celebrities
        answers = answers[len(first):]
        if viewer_id != guess or set(celebrities) != set(guessed):
            answers = await self._client.execute(
                self._viewer_calls(viewer_id, high, want, token, celebrities))
        else:
            celebrities = guessed
        following, liked = keys.following(viewer_id), keys.liked(viewer_id)
        answer: Any = answers[0]
        if answer[0] == 0:
            return PageRead(viewer_id, following_built=bool(answer[1]), liked_built=bool(answer[2]))
        _, timeline_built, found, pulled = answer
        members, exhausted, unbuilt = set(found), len(found) < want, []
        recents = dict(zip(celebrities, answers[1:], strict=True))
        for author in pulled:
            built, more = recents[author]
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

    def _viewer_calls(self, viewer_id: int, high: tuple[int, str], want: int, token: bool,
                      celebrities: list[bytes]) -> list[Call]:
        """The viewer's script, then every pulled author's recent posts (read before
        knowing which of them the viewer follows: the pulled set is small)."""
        following, liked = keys.following(viewer_id), keys.liked(viewer_id)
        return [
            evalsha(_VIEWER,
                    [keys.timeline(viewer_id), following, liked, keys.session_tokens_of(viewer_id)],
                    [*high, want, self._ttl_s, BUILT, SENTINEL,
                     self._token_ttl_s if token else "", *celebrities]),
            *(evalsha(_RECENT, [keys.author_recent(int(a))], [*high, want, SENTINEL])
              for a in celebrities)]

    async def _read_candidates(self, read: PageRead, following: str, liked: str) -> PageRead:
        """`read` with what is cached about its candidates and their authors: the authors
        remembered in process in the same round trip as the entries, any others after.
        Held entries (`HELD_KEEP`) are not read again while their generation stands; those
        whose generation moved are, in one more round trip."""
        ids = read.candidates
        known = sorted({a for p in ids if (a := self._authors.get(p)) is not None})
        held = [p for p in ids if p in self._held]
        unheld = [p for p in ids if p not in self._held]
        reads = self._client.reads([
            *(name for p in held for name in (keys.post_generation(p), keys.like_count(p))),
            *(name for p in unheld for name in (
                keys.post_cache(p), keys.post_generation(p), keys.like_count(p)))])
        answers = await self._client.execute([
            *reads, command("SMISMEMBER", liked, *ids, route=liked),
            *self._author_calls(following, known)])
        values = self._client.values(answers[:len(reads)])
        split = 2 * len(held)
        generations = dict(zip(held, values[0:split:2], strict=True))
        counts = {p: int(c) for p, c in (*zip(held, values[1:split:2], strict=True),
                                          *zip(unheld, values[split + 2::3], strict=True))
                  if c is not None}
        lookup = PostCache.parse(unheld, values[split::3], [
            g.decode() if g else None for g in values[split + 1::3]])
        self._hold(lookup, dict(zip(unheld, values[split + 1::3], strict=True)))
        moved = []
        for post_id, generation in generations.items():
            kept_generation, post = self._held[post_id]
            if generation == kept_generation:
                lookup.found[post_id] = post
            else:
                moved.append(post_id)
        if moved:
            lookup = self._merge(lookup, await self._reread(moved))
        liked_ids = {p for p, yes in zip(ids, answers[len(reads)], strict=True) if yes}
        authors = self._authors_read(known, answers[len(reads) + 1:])
        self._remember(lookup)
        rest = sorted({post.author_id for post in lookup.found.values()}.difference(known))
        if rest:
            more = self._authors_read(rest, await self._client.execute(
                self._author_calls(following, rest)))
            authors = _Authors(authors.followed | more.followed,
                               authors.suspended | more.suspended,
                               authors.suspended_built and more.suspended_built,
                               authors.private | more.private,
                               authors.private_built and more.private_built,
                               authors.cards | more.cards, authors.generations | more.generations)
        return replace(read, lookup=lookup, counts=counts, liked=liked_ids,
                       authors={*known, *rest}, followed=authors.followed,
                       suspended=authors.suspended, suspended_built=authors.suspended_built,
                       private=authors.private, private_built=authors.private_built,
                       cards=authors.cards, card_generations=authors.generations)

    def _author_calls(self, following: str, authors: list[int]) -> list[Call]:
        """Calls reading which of `authors` the viewer follows, which are suspended and
        which private (each set's built marker first), and their cards."""
        if not authors:
            return []
        return [command("SMISMEMBER", following, *authors, route=following),
                *(command("SMISMEMBER", flags, BUILT, *authors, route=flags)
                  for flags in (keys.suspended(), keys.private_accounts())),
                *self._client.reads([name for a in authors for name in (
                    keys.author_card(a), keys.author_card_generation(a))])]

    def _authors_read(self, authors: list[int], answers: list[Any]) -> _Authors:
        """What the answers of `_author_calls(authors)` say."""
        if not authors:
            return _Authors(set(), set(), True, set(), True, {}, {})
        followed = {a for a, yes in zip(authors, answers[0], strict=True) if yes}
        suspended_built, *suspended_flags = answers[1]
        suspended = {a for a, yes in zip(authors, suspended_flags, strict=True) if yes}
        private_built, *private_flags = answers[2]
        private = {a for a, yes in zip(authors, private_flags, strict=True) if yes}
        values = self._client.values(answers[3:])
        cards, generations = {}, {}
        for author, card, generation in zip(authors, values[0::2], values[1::2], strict=True):
            if card:
                cards[author] = card
            else:
                generations[author] = generation.decode() if generation else ""
        return _Authors(followed, suspended, bool(suspended_built), private, bool(private_built),
                        cards, generations)

    async def _reread(self, post_ids: list[int]) -> Lookup:
        """The entries and generations of held posts that changed (held anew)."""
        self._held.drop(post_ids)
        values = self._client.values(await self._client.execute(self._client.reads([
            name for p in post_ids for name in (keys.post_cache(p), keys.post_generation(p))])))
        lookup = PostCache.parse(post_ids, values[0::2],
                                 [g.decode() if g else None for g in values[1::2]])
        self._hold(lookup, dict(zip(post_ids, values[1::2], strict=True)))
        return lookup

    @staticmethod
    def _merge(first: Lookup, second: Lookup) -> Lookup:
        first.found.update(second.found)
        first.gone.update(second.gone)
        first.missing.update(second.missing)
        return first

    def _hold(self, lookup: Lookup, generations: dict[int, bytes | None]) -> None:
        """Hold the entries found, each with the generation read beside it."""
        for post_id, post in lookup.found.items():
            self._held.put(post_id, (generations[post_id], post))

    def _remember(self, lookup: Lookup) -> None:
        """Remember the authors of the posts found; the oldest go past `AUTHORS_KEEP`."""
        for post_id, post in lookup.found.items():
            if post_id not in self._authors:
                self._authors[post_id] = post.author_id
                if len(self._authors) > AUTHORS_KEEP:
                    del self._authors[next(iter(self._authors))]


class _Authors(NamedTuple):
    followed: set[int]
    suspended: set[int]
    suspended_built: bool
    private: set[int]
    private_built: bool
    cards: dict[int, bytes]
    generations: dict[int, str]


class _Held:
    """Post entries held in process, each with its generation; the oldest go past `keep`."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._entries: dict[int, tuple[bytes | None, Post]] = {}

    def __contains__(self, post_id: int) -> bool:
        return post_id in self._entries

    def __getitem__(self, post_id: int) -> tuple[bytes | None, Post]:
        return self._entries[post_id]

    def put(self, post_id: int, held: tuple[bytes | None, Post]) -> None:
        self._entries.pop(post_id, None)
        self._entries[post_id] = held
        if len(self._entries) > self._keep:
            del self._entries[next(iter(self._entries))]

    def drop(self, post_ids: list[int]) -> None:
        for post_id in post_ids:
            self._entries.pop(post_id, None)
