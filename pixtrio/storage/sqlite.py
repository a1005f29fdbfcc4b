"""SQLite metadata adapter: the embedded default.

WAL with `synchronous=FULL`, so a write that returned survives a crash or power loss.

Writes (which fsync) run on one writer connection in `trio.to_thread`, serialised by a
trio lock, and are never abandoned: on cancellation the statement finishes first, then
`trio.Cancelled` propagates. Bounded reads (a row by key, one page of at most a few
hundred rows) run on the event loop itself: with WAL they never wait for the writer, and
measured here one takes ~4 us while a thread hop costs ~130 us. Unbounded reads (every
follower of a user) go to a small pool of reader threads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import trio

from pixtrio.storage.errors import Conflict, StorageError
from pixtrio.storage.types import (
    Comment,
    NewUser,
    Page,
    Post,
    PostStatus,
    Relation,
    Token,
    User,
    ms_from_utc,
    relations_from,
    utc_from_ms,
)

R = TypeVar("R")
CLOSE_SECONDS = 5.0
"""Seconds `aclose` waits for running statements before it gives up on them."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    user_id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    bio TEXT NOT NULL DEFAULT '',
    profile_pic TEXT,
    followers_count INTEGER NOT NULL DEFAULT 0,
    following_count INTEGER NOT NULL DEFAULT 0,
    posts_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash BLOB PRIMARY KEY,
    user_id INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tokens_by_user ON tokens (user_id);
CREATE TABLE IF NOT EXISTS follows (
    follower_id INTEGER NOT NULL,
    followee_id INTEGER NOT NULL,
    edge_id INTEGER NOT NULL,
    PRIMARY KEY (follower_id, followee_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS follows_by_followee ON follows (followee_id, edge_id);
CREATE INDEX IF NOT EXISTS follows_by_follower ON follows (follower_id, edge_id);
CREATE TABLE IF NOT EXISTS posts (
    post_id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    caption TEXT NOT NULL DEFAULT '',
    location TEXT NOT NULL DEFAULT '',
    alt_text TEXT NOT NULL DEFAULT '',
    hashtags TEXT NOT NULL DEFAULT '[]',
    media TEXT NOT NULL DEFAULT '{}',
    failure_reason TEXT,
    like_count INTEGER NOT NULL DEFAULT 0,
    comment_count INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS posts_by_author ON posts (author_id, post_id);
DROP INDEX IF EXISTS posts_by_status;
CREATE INDEX IF NOT EXISTS posts_processing ON posts (created_at) WHERE status = 'processing';
CREATE TABLE IF NOT EXISTS likes (
    post_id INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (post_id, user_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS likes_by_user ON likes (user_id, post_id);
CREATE TABLE IF NOT EXISTS comments (
    comment_id INTEGER PRIMARY KEY,
    post_id INTEGER NOT NULL,
    author_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    hashtags TEXT NOT NULL DEFAULT '[]',
    mentions TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS comments_by_post ON comments (post_id, comment_id);
CREATE TABLE IF NOT EXISTS user_relations (
    kind TEXT NOT NULL,
    from_id INTEGER NOT NULL,
    to_id INTEGER NOT NULL,
    edge_id INTEGER NOT NULL,
    PRIMARY KEY (from_id, to_id, kind)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS user_relations_from ON user_relations (kind, from_id, edge_id);
CREATE INDEX IF NOT EXISTS user_relations_to ON user_relations (kind, to_id, edge_id);
CREATE TABLE IF NOT EXISTS post_hashtags (
    tag TEXT NOT NULL,
    post_id INTEGER NOT NULL,
    PRIMARY KEY (tag, post_id)
) WITHOUT ROWID;
"""

UPGRADES = (
    # 1: post_hashtags, new beside posts.hashtags, is filled from it
    "INSERT OR IGNORE INTO post_hashtags (tag, post_id)"
    " SELECT j.value, p.post_id FROM posts p, json_each(p.hashtags) j",
    # 2: private accounts
    "ALTER TABLE users ADD COLUMN is_private INTEGER NOT NULL DEFAULT 0",
)
"""Data changes that bring a database made by an older version up to date, each run once
(in one transaction with the `user_version` it sets) after `SCHEMA` has made the tables."""


def recent_ready_sql(authors: int) -> str:
    """The newest ready posts of `authors` authors: one index range per author
    (posts_by_author), merged, never a scan of other posts. An index led by `status` once
    made SQLite scan every ready post instead (100 ms at 200,000 posts), hence the partial
    `posts_processing` index for the sweeper."""
    return (f"SELECT post_id, author_id FROM posts WHERE author_id IN ({_placeholders(authors)})"
            " AND status = 'ready' ORDER BY post_id DESC LIMIT ?")

USER_COLUMNS = (
    "user_id, username, email, password_hash, display_name, bio, profile_pic, "
    "followers_count, following_count, posts_count, created_at, is_private"
)
POST_COLUMNS = (
    "post_id, author_id, kind, status, caption, location, alt_text, hashtags, media, "
    "failure_reason, like_count, comment_count, created_at"
)
POSTS_WITH_HASHTAG_SQL = (
    f"SELECT {', '.join('p.' + col for col in POST_COLUMNS.split(', '))}"
    " FROM post_hashtags h JOIN posts p ON p.post_id = h.post_id"
    " WHERE h.tag = ? AND h.post_id < ? AND p.status = 'ready' ORDER BY h.post_id DESC LIMIT ?"
)
"""A page of the ready posts carrying a tag: one backwards range of post_hashtags' key,
each post then read by its id."""
POST_PLAIN_FIELDS = {"caption", "location", "alt_text", "hashtags", "media", "failure_reason"}
COMMENT_COLUMNS = "comment_id, post_id, author_id, text, hashtags, mentions, created_at"


def _user(row: sqlite3.Row) -> User:
    return User(
        user_id=row["user_id"],
        username=row["username"],
        email=row["email"],
        password_hash=row["password_hash"],
        display_name=row["display_name"],
        bio=row["bio"],
        profile_pic=row["profile_pic"],
        followers_count=row["followers_count"],
        following_count=row["following_count"],
        posts_count=row["posts_count"],
        created_at=utc_from_ms(row["created_at"]),
        is_private=bool(row["is_private"]),
    )


def _post(row: sqlite3.Row) -> Post:
    return Post(
        post_id=row["post_id"],
        author_id=row["author_id"],
        kind=row["kind"],
        status=row["status"],
        caption=row["caption"],
        location=row["location"],
        alt_text=row["alt_text"],
        hashtags=tuple(json.loads(row["hashtags"])),
        media=json.loads(row["media"]),
        failure_reason=row["failure_reason"],
        like_count=row["like_count"],
        comment_count=row["comment_count"],
        created_at=utc_from_ms(row["created_at"]),
    )


def _comment(row: sqlite3.Row) -> Comment:
    return Comment(
        comment_id=row["comment_id"],
        post_id=row["post_id"],
        author_id=row["author_id"],
        text=row["text"],
        hashtags=tuple(json.loads(row["hashtags"])),
        mentions=tuple(json.loads(row["mentions"])),
        created_at=utc_from_ms(row["created_at"]),
    )


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


class SqliteStore:
    """`MetadataStore` on one SQLite file. Open with `await SqliteStore.open(path)`."""

    name = "sqlite"
    operations = 0

    def __init__(
        self,
        path: Path,
        writer: sqlite3.Connection,
        inline: sqlite3.Connection,
        readers: list[sqlite3.Connection],
    ) -> None:
        self.path = path
        self._writer = writer
        self._inline = inline
        self._write_lock = trio.Lock()
        self._all = [writer, inline, *readers]
        self._idle_readers: list[sqlite3.Connection] = list(readers)
        self._reader_count = len(readers)
        self._readers_free = trio.Semaphore(len(readers))
        self._limiter = trio.CapacityLimiter(len(readers) + 1)
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, readers: int = 2) -> SqliteStore:
        """Open (creating if needed) the database at `path` with its schema."""

        def setup() -> SqliteStore:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = _connect(path)
            writer.executescript(SCHEMA)
            _upgrade(writer)
            return cls(path, writer, _connect(path), [_connect(path) for _ in range(readers)])

        return await trio.to_thread.run_sync(setup)

    async def _write(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        async with self._write_lock:
            return await self._run(fn, self._writer)

    async def _read(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        """Run a bounded read on the event loop (see the module docstring)."""
        await trio.lowlevel.checkpoint()
        with self._driver_errors():
            return fn(self._inline)

    async def _read_in_thread(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        async with self._readers_free:
            conn = self._idle_readers.pop()
            try:
                return await self._run(fn, conn)
            finally:
                self._idle_readers.append(conn)

    async def _run(self, fn: Callable[[sqlite3.Connection], R], conn: sqlite3.Connection) -> R:
        with self._driver_errors():
            return await trio.to_thread.run_sync(fn, conn, limiter=self._limiter)

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        """Refuse use after close; map driver errors to storage errors."""
        if self._closed:
            raise StorageError("sqlite store is closed")
        self.operations += 1
        try:
            yield
        except sqlite3.IntegrityError as exc:
            raise _conflict(exc) from None
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite: {exc}") from None

    async def ping(self) -> None:
        await self._read(lambda c: c.execute("SELECT 1").fetchone())

    async def aclose(self) -> None:
        """Wait for running statements, then close every connection; safe to call twice.

        Shielded from cancellation for at most `CLOSE_SECONDS`: past them (a statement
        that hangs) the connections are left open and the store is closed all the same."""
        if self._closed:
            return
        self._closed = True
        taken = 0
        try:
            with trio.move_on_after(CLOSE_SECONDS, shield=True):
                async with self._write_lock:
                    for _ in range(self._reader_count):  # every reader thread back
                        await self._readers_free.acquire()
                        taken += 1
                    for conn in self._all:
                        conn.close()
        finally:
            for _ in range(taken):  # later reads fail fast, not wait
                self._readers_free.release()

    # users

    async def create_user(self, user: NewUser) -> User:
        def run(c: sqlite3.Connection) -> User:
            c.execute(
                "INSERT INTO users (user_id, username, email, password_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (user.user_id, user.username, user.email, user.password_hash,
                 ms_from_utc(user.created_at)),
            )
            return _user(c.execute(f"SELECT {USER_COLUMNS} FROM users WHERE user_id = ?",
                                   (user.user_id,)).fetchone())

        return await self._write(run)

    async def _one_user(self, where: str, *args: Any) -> User | None:
        def run(c: sqlite3.Connection) -> User | None:
            row = c.execute(f"SELECT {USER_COLUMNS} FROM users WHERE {where}", args).fetchone()
            return _user(row) if row else None

        return await self._read(run)

    async def get_user(self, user_id: int) -> User | None:
        return await self._one_user("user_id = ?", user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        return await self._one_user("username = ?", username)

    async def get_user_by_login(self, login: str) -> User | None:
        return await self._one_user("username = ?1 OR email = ?1", login)

    async def get_users(self, user_ids: Collection[int]) -> dict[int, User]:
        ids = list(user_ids)
        if not ids:
            return {}

        def run(c: sqlite3.Connection) -> dict[int, User]:
            rows = c.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE user_id IN ({_placeholders(len(ids))})",
                ids,
            ).fetchall()
            return {row["user_id"]: _user(row) for row in rows}

        return await self._read(run)

    async def update_profile(
        self,
        user_id: int,
        *,
        display_name: str | None = None,
        bio: str | None = None,
        profile_pic: str | None = None,
        is_private: bool | None = None,
    ) -> User | None:
        changes: dict[str, Any] = {
            k: v
            for k, v in (("display_name", display_name), ("bio", bio), ("profile_pic", profile_pic),
                         ("is_private", is_private))
            if v is not None
        }

        def run(c: sqlite3.Connection) -> User | None:
            if changes:
                sets = ", ".join(f"{k} = ?" for k in changes)
                c.execute(f"UPDATE users SET {sets} WHERE user_id = ?", (*changes.values(), user_id))
            row = c.execute(f"SELECT {USER_COLUMNS} FROM users WHERE user_id = ?",
                            (user_id,)).fetchone()
            return _user(row) if row else None

        return await self._write(run)

    # tokens

    async def create_token(self, token: Token) -> None:
        await self._write(lambda c: c.execute(
            "INSERT INTO tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
            (token.token_hash, token.user_id, ms_from_utc(token.created_at)),
        ))

    async def get_token_user(self, token_hash: bytes) -> User | None:
        def run(c: sqlite3.Connection) -> User | None:
            row = c.execute(
                f"SELECT {', '.join('u.' + col for col in USER_COLUMNS.split(', '))}"
                " FROM tokens t JOIN users u ON u.user_id = t.user_id WHERE t.token_hash = ?",
                (token_hash,),
            ).fetchone()
            return _user(row) if row else None

        return await self._read(run)

    async def revoke_token(self, token_hash: bytes) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            return c.execute("DELETE FROM tokens WHERE token_hash = ?", (token_hash,)).rowcount > 0

        return await self._write(run)

    # follows

    async def follow(self, edge_id: int, follower_id: int, followee_id: int) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            with _transaction(c):
                added = c.execute(
                    "INSERT OR IGNORE INTO follows (follower_id, followee_id, edge_id)"
                    " VALUES (?, ?, ?)",
                    (follower_id, followee_id, edge_id),
                ).rowcount > 0
                if added:
                    _bump_follow_counts(c, follower_id, followee_id, +1)
                return added

        return await self._write(run)

    async def unfollow(self, follower_id: int, followee_id: int) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            with _transaction(c):
                removed = c.execute(
                    "DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
                    (follower_id, followee_id),
                ).rowcount > 0
                if removed:
                    _bump_follow_counts(c, follower_id, followee_id, -1)
                return removed

        return await self._write(run)

    async def following_among(self, follower_id: int, candidates: Collection[int]) -> set[int]:
        ids = list(candidates)
        if not ids:
            return set()

        def run(c: sqlite3.Connection) -> set[int]:
            rows = c.execute(
                "SELECT followee_id FROM follows WHERE follower_id = ?"
                f" AND followee_id IN ({_placeholders(len(ids))})",
                (follower_id, *ids),
            ).fetchall()
            return {row[0] for row in rows}

        return await self._read(run)

    async def _list_edges(
        self, mine: str, theirs: str, user_id: int, before: int | None, limit: int
    ) -> Page[User]:
        def run(c: sqlite3.Connection) -> Page[User]:
            rows = c.execute(
                f"SELECT f.edge_id, {', '.join('u.' + col for col in USER_COLUMNS.split(', '))}"
                f" FROM follows f JOIN users u ON u.user_id = f.{theirs}"
                f" WHERE f.{mine} = ? AND f.edge_id < ? ORDER BY f.edge_id DESC LIMIT ?",
                (user_id, before if before is not None else 2**63 - 1, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_user(r) for r in rows], rows[-1]["edge_id"] if more else None)

        return await self._read(run)

    async def list_followers(self, user_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_edges("followee_id", "follower_id", user_id, before, limit)

    async def list_following(self, user_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_edges("follower_id", "followee_id", user_id, before, limit)

    async def follower_ids(self, user_id: int) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            rows = c.execute("SELECT follower_id FROM follows WHERE followee_id = ?", (user_id,))
            return [row[0] for row in rows]

        return await self._read_in_thread(run)

    async def following_ids(self, user_id: int) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            rows = c.execute("SELECT followee_id FROM follows WHERE follower_id = ?", (user_id,))
            return [row[0] for row in rows]

        return await self._read_in_thread(run)

    # follow requests, blocks, mutes (rows of user_relations, by kind)

    async def _add_relation(self, kind: str, edge_id: int, from_id: int, to_id: int) -> bool:
        return await self._write(lambda c: c.execute(
            "INSERT OR IGNORE INTO user_relations (kind, from_id, to_id, edge_id)"
            " VALUES (?, ?, ?, ?)", (kind, from_id, to_id, edge_id),
        ).rowcount > 0)

    async def _remove_relation(self, kind: str, from_id: int, to_id: int) -> bool:
        return await self._write(lambda c: c.execute(
            "DELETE FROM user_relations WHERE kind = ? AND from_id = ? AND to_id = ?",
            (kind, from_id, to_id),
        ).rowcount > 0)

    async def _list_relation(self, kind: str, mine: str, theirs: str, user_id: int,
                             before: int | None, limit: int) -> Page[User]:
        def run(c: sqlite3.Connection) -> Page[User]:
            rows = c.execute(
                f"SELECT r.edge_id, {', '.join('u.' + col for col in USER_COLUMNS.split(', '))}"
                f" FROM user_relations r JOIN users u ON u.user_id = r.{theirs}"
                f" WHERE r.kind = ? AND r.{mine} = ? AND r.edge_id < ?"
                " ORDER BY r.edge_id DESC LIMIT ?",
                (kind, user_id, before if before is not None else 2**63 - 1, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_user(r) for r in rows], rows[-1]["edge_id"] if more else None)

        return await self._read(run)

    async def request_follow(self, request_id: int, requester_id: int, target_id: int) -> bool:
        return await self._add_relation("request", request_id, requester_id, target_id)

    async def accept_follow_request(self, edge_id: int, requester_id: int,
                                    target_id: int) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            with _transaction(c):
                if not c.execute(
                    "DELETE FROM user_relations WHERE kind = 'request' AND from_id = ?"
                    " AND to_id = ?", (requester_id, target_id),
                ).rowcount:
                    return False
                if c.execute(
                    "INSERT OR IGNORE INTO follows (follower_id, followee_id, edge_id)"
                    " VALUES (?, ?, ?)", (requester_id, target_id, edge_id),
                ).rowcount:
                    _bump_follow_counts(c, requester_id, target_id, +1)
                return True

        return await self._write(run)

    async def remove_follow_request(self, requester_id: int, target_id: int) -> bool:
        return await self._remove_relation("request", requester_id, target_id)

    async def list_follow_requests(
        self, target_id: int, *, before: int | None, limit: int
    ) -> Page[User]:
        return await self._list_relation("request", "to_id", "from_id", target_id, before, limit)

    async def block(self, edge_id: int, blocker_id: int, blocked_id: int) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            with _transaction(c):
                added = c.execute(
                    "INSERT OR IGNORE INTO user_relations (kind, from_id, to_id, edge_id)"
                    " VALUES ('block', ?, ?, ?)", (blocker_id, blocked_id, edge_id),
                ).rowcount > 0
                for a, b in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
                    if c.execute("DELETE FROM follows WHERE follower_id = ? AND followee_id = ?",
                                 (a, b)).rowcount:
                        _bump_follow_counts(c, a, b, -1)
                    c.execute("DELETE FROM user_relations WHERE kind = 'request'"
                              " AND from_id = ? AND to_id = ?", (a, b))
                return added

        return await self._write(run)

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        return await self._remove_relation("block", blocker_id, blocked_id)

    async def list_blocks(self, blocker_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_relation("block", "from_id", "to_id", blocker_id, before, limit)

    async def mute(self, edge_id: int, muter_id: int, muted_id: int) -> bool:
        return await self._add_relation("mute", edge_id, muter_id, muted_id)

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        return await self._remove_relation("mute", muter_id, muted_id)

    async def list_mutes(self, muter_id: int, *, before: int | None, limit: int) -> Page[User]:
        return await self._list_relation("mute", "from_id", "to_id", muter_id, before, limit)

    async def relations(self, viewer_id: int, owner_ids: Collection[int]) -> dict[int, Relation]:
        ids = list(owner_ids)
        if not ids:
            return {}
        marks = _placeholders(len(ids))

        def run(c: sqlite3.Connection) -> list[tuple[str, int]]:
            return [(row[0], row[1]) for row in c.execute(
                f"SELECT 'follow', followee_id FROM follows WHERE follower_id = ?"
                f" AND followee_id IN ({marks})"
                f" UNION ALL SELECT kind, to_id FROM user_relations WHERE from_id = ?"
                f" AND to_id IN ({marks})"
                f" UNION ALL SELECT 'blocked_by', from_id FROM user_relations"
                f" WHERE kind = 'block' AND to_id = ? AND from_id IN ({marks})",
                (viewer_id, *ids, viewer_id, *ids, viewer_id, *ids),
            )]

        return relations_from(ids, await self._read(run))

    async def muter_ids(self, user_id: int) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            rows = c.execute("SELECT from_id FROM user_relations WHERE kind = 'mute'"
                             " AND to_id = ?", (user_id,))
            return [row[0] for row in rows]

        return await self._read_in_thread(run)

    # posts

    async def create_post(self, post: Post) -> None:
        def run(c: sqlite3.Connection) -> None:
            with _transaction(c):
                c.execute(
                    f"INSERT INTO posts ({POST_COLUMNS}) VALUES ({_placeholders(13)})",
                    (post.post_id, post.author_id, post.kind, post.status, post.caption,
                     post.location, post.alt_text, json.dumps(list(post.hashtags)),
                     json.dumps(post.media), post.failure_reason, post.like_count,
                     post.comment_count, ms_from_utc(post.created_at)),
                )
                _index_hashtags(c, post.post_id, post.hashtags)
                # posts_count counts ready posts, so one created ready counts too.
                if post.status == "ready":
                    c.execute("UPDATE users SET posts_count = posts_count + 1 WHERE user_id = ?",
                              (post.author_id,))

        await self._write(run)

    async def get_post(self, post_id: int) -> Post | None:
        return (await self.get_posts([post_id])).get(post_id)

    async def get_posts(self, post_ids: Collection[int]) -> dict[int, Post]:
        ids = list(post_ids)
        if not ids:
            return {}

        def run(c: sqlite3.Connection) -> dict[int, Post]:
            rows = c.execute(
                f"SELECT {POST_COLUMNS} FROM posts WHERE post_id IN ({_placeholders(len(ids))})",
                ids,
            ).fetchall()
            return {row["post_id"]: _post(row) for row in rows}

        return await self._read(run)

    async def update_post(self, post_id: int, **fields: Any) -> Post | None:
        unknown = set(fields) - POST_PLAIN_FIELDS
        if unknown:
            raise ValueError(f"not plain post fields: {sorted(unknown)}")
        values = {
            k: json.dumps(list(v) if k == "hashtags" else v) if k in ("hashtags", "media") else v
            for k, v in fields.items()
        }

        def run(c: sqlite3.Connection) -> Post | None:
            with _transaction(c):
                if values:
                    sets = ", ".join(f"{k} = ?" for k in values)
                    c.execute(f"UPDATE posts SET {sets} WHERE post_id = ?",
                              (*values.values(), post_id))
                row = c.execute(f"SELECT {POST_COLUMNS} FROM posts WHERE post_id = ?",
                                (post_id,)).fetchone()
                if row is None:
                    return None
                if "hashtags" in fields:
                    _index_hashtags(c, post_id, fields["hashtags"])
                return _post(row)

        return await self._write(run)

    async def set_post_status(
        self, post_id: int, status: PostStatus, *, failure_reason: str | None = None
    ) -> Post | None:
        def run(c: sqlite3.Connection) -> Post | None:
            with _transaction(c):
                row = c.execute("SELECT author_id, status FROM posts WHERE post_id = ?",
                                (post_id,)).fetchone()
                if row is None:
                    return None
                c.execute("UPDATE posts SET status = ?, failure_reason = ? WHERE post_id = ?",
                          (status, failure_reason, post_id))
                delta = (status == "ready") - (row["status"] == "ready")
                if delta:
                    c.execute("UPDATE users SET posts_count = posts_count + ? WHERE user_id = ?",
                              (delta, row["author_id"]))
                return _post(c.execute(f"SELECT {POST_COLUMNS} FROM posts WHERE post_id = ?",
                                       (post_id,)).fetchone())

        return await self._write(run)

    async def delete_post(self, post_id: int) -> Post | None:
        def run(c: sqlite3.Connection) -> Post | None:
            with _transaction(c):
                row = c.execute(f"SELECT {POST_COLUMNS} FROM posts WHERE post_id = ?",
                                (post_id,)).fetchone()
                if row is None:
                    return None
                post = _post(row)
                c.execute("DELETE FROM posts WHERE post_id = ?", (post_id,))
                c.execute("DELETE FROM post_hashtags WHERE post_id = ?", (post_id,))
                c.execute("DELETE FROM likes WHERE post_id = ?", (post_id,))
                c.execute("DELETE FROM comments WHERE post_id = ?", (post_id,))
                if post.status == "ready":
                    c.execute("UPDATE users SET posts_count = posts_count - 1 WHERE user_id = ?",
                              (post.author_id,))
                return post

        return await self._write(run)

    async def list_posts_by_author(
        self,
        author_id: int,
        *,
        statuses: Sequence[PostStatus],
        before: int | None,
        limit: int,
    ) -> Page[Post]:
        def run(c: sqlite3.Connection) -> Page[Post]:
            rows = c.execute(
                f"SELECT {POST_COLUMNS} FROM posts WHERE author_id = ? AND post_id < ?"
                f" AND status IN ({_placeholders(len(statuses))})"
                " ORDER BY post_id DESC LIMIT ?",
                (author_id, before if before is not None else 2**63 - 1, *statuses, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_post(r) for r in rows], rows[-1]["post_id"] if more else None)

        return await self._read(run)

    async def posts_with_hashtag(self, tag: str, *, before: int | None, limit: int) -> Page[Post]:
        def run(c: sqlite3.Connection) -> Page[Post]:
            rows = c.execute(
                POSTS_WITH_HASHTAG_SQL,
                (tag, before if before is not None else 2**63 - 1, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_post(r) for r in rows], rows[-1]["post_id"] if more else None)

        return await self._read(run)

    async def recent_ready_post_ids(
        self, author_ids: Collection[int], *, limit: int
    ) -> list[tuple[int, int]]:
        ids = list(author_ids)
        if not ids:
            return []

        def run(c: sqlite3.Connection) -> list[tuple[int, int]]:
            rows = c.execute(recent_ready_sql(len(ids)), (*ids, limit)).fetchall()
            return [(row[0], row[1]) for row in rows]

        return await self._read_in_thread(run)

    async def processing_posts(self, *, created_before: datetime, limit: int) -> list[Post]:
        def run(c: sqlite3.Connection) -> list[Post]:
            rows = c.execute(
                f"SELECT {POST_COLUMNS} FROM posts WHERE status = 'processing'"
                " AND created_at < ? ORDER BY created_at LIMIT ?",
                (ms_from_utc(created_before), limit),
            ).fetchall()
            return [_post(row) for row in rows]

        return await self._read_in_thread(run)

    # likes

    async def add_like(self, post_id: int, user_id: int) -> bool:
        return await self._write(lambda c: c.execute(
            "INSERT OR IGNORE INTO likes (post_id, user_id) VALUES (?, ?)", (post_id, user_id),
        ).rowcount > 0)

    async def remove_like(self, post_id: int, user_id: int) -> bool:
        return await self._write(lambda c: c.execute(
            "DELETE FROM likes WHERE post_id = ? AND user_id = ?", (post_id, user_id),
        ).rowcount > 0)

    async def liked_post_ids(self, user_id: int) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            rows = c.execute("SELECT post_id FROM likes WHERE user_id = ?", (user_id,))
            return [row[0] for row in rows]

        return await self._read_in_thread(run)

    async def liked_among(self, user_id: int, post_ids: Collection[int]) -> set[int]:
        ids = list(post_ids)
        if not ids:
            return set()

        def run(c: sqlite3.Connection) -> set[int]:
            rows = c.execute(
                "SELECT post_id FROM likes WHERE user_id = ?"
                f" AND post_id IN ({_placeholders(len(ids))})",
                (user_id, *ids),
            ).fetchall()
            return {row[0] for row in rows}

        return await self._read(run)

    async def count_likes(self, post_ids: Collection[int]) -> dict[int, int]:
        ids = list(post_ids)
        if not ids:
            return {}

        def run(c: sqlite3.Connection) -> dict[int, int]:
            rows = c.execute(
                f"SELECT post_id, COUNT(*) FROM likes WHERE post_id IN ({_placeholders(len(ids))})"
                " GROUP BY post_id",
                ids,
            ).fetchall()
            return {post_id: 0 for post_id in ids} | {row[0]: row[1] for row in rows}

        return await self._read_in_thread(run)

    async def set_like_counts(self, counts: Mapping[int, int]) -> None:
        if not counts:
            return

        def run(c: sqlite3.Connection) -> None:
            with _transaction(c):
                c.executemany("UPDATE posts SET like_count = ? WHERE post_id = ?",
                              [(count, post_id) for post_id, count in counts.items()])

        await self._write(run)

    # comments

    async def create_comment(self, comment: Comment) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            with _transaction(c):
                bumped = c.execute(
                    "UPDATE posts SET comment_count = comment_count + 1 WHERE post_id = ?",
                    (comment.post_id,),
                ).rowcount > 0
                if bumped:
                    c.execute(
                        f"INSERT INTO comments ({COMMENT_COLUMNS}) VALUES ({_placeholders(7)})",
                        (comment.comment_id, comment.post_id, comment.author_id, comment.text,
                         json.dumps(list(comment.hashtags)), json.dumps(list(comment.mentions)),
                         ms_from_utc(comment.created_at)),
                    )
                return bumped

        return await self._write(run)

    async def get_comment(self, comment_id: int) -> Comment | None:
        def run(c: sqlite3.Connection) -> Comment | None:
            row = c.execute(f"SELECT {COMMENT_COLUMNS} FROM comments WHERE comment_id = ?",
                            (comment_id,)).fetchone()
            return _comment(row) if row else None

        return await self._read(run)

    async def delete_comment(self, comment_id: int) -> Comment | None:
        def run(c: sqlite3.Connection) -> Comment | None:
            with _transaction(c):
                row = c.execute(f"SELECT {COMMENT_COLUMNS} FROM comments WHERE comment_id = ?",
                                (comment_id,)).fetchone()
                if row is None:
                    return None
                c.execute("DELETE FROM comments WHERE comment_id = ?", (comment_id,))
                c.execute("UPDATE posts SET comment_count = comment_count - 1 WHERE post_id = ?",
                          (row["post_id"],))
                return _comment(row)

        return await self._write(run)

    async def list_comments(self, post_id: int, *, after: int | None, limit: int) -> Page[Comment]:
        def run(c: sqlite3.Connection) -> Page[Comment]:
            rows = c.execute(
                f"SELECT {COMMENT_COLUMNS} FROM comments WHERE post_id = ? AND comment_id > ?"
                " ORDER BY comment_id LIMIT ?",
                (post_id, after if after is not None else -1, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_comment(r) for r in rows], rows[-1]["comment_id"] if more else None)

        return await self._read(run)


def _upgrade(c: sqlite3.Connection) -> None:
    """Run the `UPGRADES` this database has not had yet, each with its `user_version`."""
    version = c.execute("PRAGMA user_version").fetchone()[0]
    for number, statement in enumerate(UPGRADES[version:], start=version + 1):
        with _transaction(c):
            c.execute(statement)
            c.execute(f"PRAGMA user_version = {number}")


def _index_hashtags(c: sqlite3.Connection, post_id: int, tags: Collection[str]) -> None:
    """Make post_hashtags list exactly `tags` for the post."""
    c.execute("DELETE FROM post_hashtags WHERE post_id = ?", (post_id,))
    c.executemany("INSERT OR IGNORE INTO post_hashtags (tag, post_id) VALUES (?, ?)",
                  [(tag, post_id) for tag in tags])


def _bump_follow_counts(c: sqlite3.Connection, follower_id: int, followee_id: int, by: int) -> None:
    c.execute("UPDATE users SET following_count = following_count + ? WHERE user_id = ?",
              (by, follower_id))
    c.execute("UPDATE users SET followers_count = followers_count + ? WHERE user_id = ?",
              (by, followee_id))


def _conflict(exc: sqlite3.IntegrityError) -> Conflict:
    """Map a UNIQUE failure ("UNIQUE constraint failed: users.email") to its field."""
    text = str(exc)
    column = text.rsplit(".", 1)[-1] if "UNIQUE" in text or "PRIMARY" in text else "record"
    return Conflict(column)
