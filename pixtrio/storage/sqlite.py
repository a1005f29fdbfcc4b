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
    AuditEntry,
    Comment,
    HashBlock,
    HashMatch,
    NewUser,
    Page,
    Post,
    PostHashes,
    PostStatus,
    Relation,
    Report,
    ReportStatus,
    Role,
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
CREATE INDEX IF NOT EXISTS comments_by_author ON comments (author_id, comment_id);
CREATE TABLE IF NOT EXISTS token_sessions (
    token_hash BLOB PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL,
    last_used_at INTEGER,
    user_agent TEXT NOT NULL DEFAULT '',
    ip TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS reports (
    report_id INTEGER PRIMARY KEY,
    reporter_id INTEGER NOT NULL,
    target TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    reason TEXT NOT NULL,
    text TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    resolution TEXT,
    resolved_by INTEGER,
    resolved_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS reports_by_status ON reports (status, report_id);
CREATE TABLE IF NOT EXISTS audit_log (
    action_id INTEGER PRIMARY KEY,
    actor_id INTEGER,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id INTEGER NOT NULL,
    details TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hash_blocks (
    block_id INTEGER PRIMARY KEY,
    pdq TEXT NOT NULL,
    variants TEXT NOT NULL DEFAULT '[]',
    source TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    added_by INTEGER,
    post_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS post_hashes (
    post_id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL,
    dihedral TEXT NOT NULL,
    quality INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hash_matches (
    match_id INTEGER PRIMARY KEY,
    block_id INTEGER NOT NULL,
    distance INTEGER NOT NULL,
    user_id INTEGER NOT NULL,
    post_id INTEGER,
    created_at INTEGER NOT NULL
);
"""

UPGRADES = (
    # 1: post_hashtags, new beside posts.hashtags, is filled from it
    "INSERT OR IGNORE INTO post_hashtags (tag, post_id)"
    " SELECT j.value, p.post_id FROM posts p, json_each(p.hashtags) j",
    # 2: token_sessions, new beside tokens, names each token made before it
    "INSERT OR IGNORE INTO token_sessions (token_hash, session_id, user_id)"
    " SELECT token_hash, lower(hex(randomblob(12))), user_id FROM tokens",
    # 3, 4: users' role and suspension (columns, so every user read carries them)
    "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'user'",
    "ALTER TABLE users ADD COLUMN suspended INTEGER NOT NULL DEFAULT 0",
    # 5: private accounts
    "ALTER TABLE users ADD COLUMN is_private INTEGER NOT NULL DEFAULT 0",
    # 6: the suspended few, found without reading every user
    "CREATE INDEX IF NOT EXISTS users_suspended ON users (user_id) WHERE suspended = 1",
    # 7: the private accounts, likewise
    "CREATE INDEX IF NOT EXISTS users_private ON users (user_id) WHERE is_private = 1",
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
    "followers_count, following_count, posts_count, created_at, role, suspended, is_private"
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
TOKEN_SELECT = (
    "SELECT t.token_hash, t.user_id, t.created_at, s.session_id, s.last_used_at, s.user_agent,"
    " s.ip FROM tokens t JOIN token_sessions s ON s.token_hash = t.token_hash"
)
"""A token with its session's metadata (the session row is written with the token)."""
COMMENT_COLUMNS = "comment_id, post_id, author_id, text, hashtags, mentions, created_at"
REPORT_COLUMNS = ("report_id, reporter_id, target, target_id, reason, text, status, resolution, "
                  "resolved_by, resolved_at, created_at")
AUDIT_COLUMNS = "action_id, actor_id, action, target_kind, target_id, details, created_at"
HASH_BLOCK_COLUMNS = "block_id, pdq, variants, source, note, added_by, post_id, created_at"
HASH_MATCH_COLUMNS = "match_id, block_id, distance, user_id, post_id, created_at"


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
        role=row["role"],
        suspended=bool(row["suspended"]),
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


def _token(row: sqlite3.Row) -> Token:
    return Token(
        token_hash=row["token_hash"],
        user_id=row["user_id"],
        created_at=utc_from_ms(row["created_at"]),
        session_id=row["session_id"],
        last_used_at=utc_from_ms(row["last_used_at"]) if row["last_used_at"] is not None else None,
        user_agent=row["user_agent"],
        ip=row["ip"],
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


def _report(row: sqlite3.Row) -> Report:
    return Report(
        report_id=row["report_id"],
        reporter_id=row["reporter_id"],
        target=row["target"],
        target_id=row["target_id"],
        reason=row["reason"],
        text=row["text"],
        created_at=utc_from_ms(row["created_at"]),
        status=row["status"],
        resolution=row["resolution"],
        resolved_by=row["resolved_by"],
        resolved_at=utc_from_ms(row["resolved_at"]) if row["resolved_at"] is not None else None,
    )


def _audit_entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(
        action_id=row["action_id"],
        actor_id=row["actor_id"],
        action=row["action"],
        target_kind=row["target_kind"],
        target_id=row["target_id"],
        details=row["details"],
        created_at=utc_from_ms(row["created_at"]),
    )


def _hash_block(row: sqlite3.Row) -> HashBlock:
    return HashBlock(
        block_id=row["block_id"],
        pdq=row["pdq"],
        variants=tuple(json.loads(row["variants"])),
        source=row["source"],
        note=row["note"],
        added_by=row["added_by"],
        post_id=row["post_id"],
        created_at=utc_from_ms(row["created_at"]),
    )


def _hash_match(row: sqlite3.Row) -> HashMatch:
    return HashMatch(
        match_id=row["match_id"],
        block_id=row["block_id"],
        distance=row["distance"],
        user_id=row["user_id"],
        post_id=row["post_id"],
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

    async def set_password_hash(self, user_id: int, password_hash: str) -> bool:
        return await self._write(lambda c: c.execute(
            "UPDATE users SET password_hash = ? WHERE user_id = ?", (password_hash, user_id),
        ).rowcount > 0)

    async def delete_user(self, user_id: int) -> bool:
        return await self._write(lambda c: c.execute(
            "DELETE FROM users WHERE user_id = ?", (user_id,)).rowcount > 0)

    async def set_role(self, user_id: int, role: Role) -> User | None:
        return await self._set_user_column(user_id, "role", role)

    async def set_suspended(self, user_id: int, suspended: bool) -> User | None:
        return await self._set_user_column(user_id, "suspended", int(suspended))

    async def _set_user_column(self, user_id: int, column: str, value: object) -> User | None:
        def run(c: sqlite3.Connection) -> User | None:
            c.execute(f"UPDATE users SET {column} = ? WHERE user_id = ?", (value, user_id))
            row = c.execute(f"SELECT {USER_COLUMNS} FROM users WHERE user_id = ?",
                            (user_id,)).fetchone()
            return _user(row) if row else None

        return await self._write(run)

    # tokens

    async def create_token(self, token: Token) -> None:
        def run(c: sqlite3.Connection) -> None:
            with _transaction(c):
                c.execute(
                    "INSERT INTO tokens (token_hash, user_id, created_at) VALUES (?, ?, ?)",
                    (token.token_hash, token.user_id, ms_from_utc(token.created_at)),
                )
                c.execute(
                    "INSERT INTO token_sessions (token_hash, session_id, user_id, last_used_at,"
                    " user_agent, ip) VALUES (?, ?, ?, ?, ?, ?)",
                    (token.token_hash, token.session_id, token.user_id,
                     ms_from_utc(token.last_used_at or token.created_at), token.user_agent,
                     token.ip),
                )

        await self._write(run)

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
            with _transaction(c):
                c.execute("DELETE FROM token_sessions WHERE token_hash = ?", (token_hash,))
                return c.execute("DELETE FROM tokens WHERE token_hash = ?",
                                 (token_hash,)).rowcount > 0

        return await self._write(run)

    async def list_tokens(self, user_id: int) -> list[Token]:
        def run(c: sqlite3.Connection) -> list[Token]:
            rows = c.execute(f"{TOKEN_SELECT} WHERE t.user_id = ? ORDER BY t.created_at DESC",
                             (user_id,)).fetchall()
            return [_token(row) for row in rows]

        return await self._read_in_thread(run)

    async def touch_token(self, token_hash: bytes, when: datetime) -> None:
        await self._write(lambda c: c.execute(
            "UPDATE token_sessions SET last_used_at = ? WHERE token_hash = ?",
            (ms_from_utc(when), token_hash),
        ))

    async def revoke_session(self, user_id: int, session_id: str) -> Token | None:
        def run(c: sqlite3.Connection) -> Token | None:
            with _transaction(c):
                row = c.execute(f"{TOKEN_SELECT} WHERE s.session_id = ? AND t.user_id = ?",
                                (session_id, user_id)).fetchone()
                if row is None:
                    return None
                c.execute("DELETE FROM tokens WHERE token_hash = ?", (row["token_hash"],))
                c.execute("DELETE FROM token_sessions WHERE token_hash = ?", (row["token_hash"],))
                return _token(row)

        return await self._write(run)

    async def revoke_tokens(self, user_id: int, *, keep: bytes | None = None) -> list[bytes]:
        def run(c: sqlite3.Connection) -> list[bytes]:
            with _transaction(c):
                hashes = [row[0] for row in c.execute(
                    "SELECT token_hash FROM tokens WHERE user_id = ? AND token_hash IS NOT ?",
                    (user_id, keep))]
                c.executemany("DELETE FROM tokens WHERE token_hash = ?", [(h,) for h in hashes])
                c.execute("DELETE FROM token_sessions WHERE user_id = ? AND token_hash IS NOT ?",
                          (user_id, keep))
                return hashes

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
                f" WHERE kind = 'block' AND to_id = ? AND from_id IN ({marks})"
                f" UNION ALL SELECT 'suspended', user_id FROM users"
                f" WHERE user_id IN ({marks}) AND suspended = 1"
                f" UNION ALL SELECT 'private', user_id FROM users"
                f" WHERE user_id IN ({marks}) AND is_private = 1",
                (viewer_id, *ids, viewer_id, *ids, viewer_id, *ids, *ids, *ids),
            )]

        return relations_from(ids, await self._read(run))

    async def muter_ids(self, user_id: int) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            rows = c.execute("SELECT from_id FROM user_relations WHERE kind = 'mute'"
                             " AND to_id = ?", (user_id,))
            return [row[0] for row in rows]

        return await self._read_in_thread(run)

    async def muted_ids(self, user_id: int) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            rows = c.execute("SELECT to_id FROM user_relations WHERE kind = 'mute'"
                             " AND from_id = ?", (user_id,))
            return [row[0] for row in rows]

        return await self._read(run)

    async def suspended_ids(self) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            return [row[0] for row in c.execute("SELECT user_id FROM users WHERE suspended = 1")]

        return await self._read_in_thread(run)

    async def private_ids(self) -> list[int]:
        def run(c: sqlite3.Connection) -> list[int]:
            return [row[0] for row in c.execute("SELECT user_id FROM users WHERE is_private = 1")]

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

    async def comments_by_author(self, author_id: int, *, limit: int) -> list[Comment]:
        def run(c: sqlite3.Connection) -> list[Comment]:
            rows = c.execute(
                f"SELECT {COMMENT_COLUMNS} FROM comments WHERE author_id = ?"
                " ORDER BY comment_id LIMIT ?", (author_id, limit)).fetchall()
            return [_comment(row) for row in rows]

        return await self._read(run)

    # moderation

    async def create_report(self, report: Report) -> None:
        await self._write(lambda c: c.execute(
            f"INSERT INTO reports ({REPORT_COLUMNS}) VALUES ({_placeholders(11)})",
            (report.report_id, report.reporter_id, report.target, report.target_id,
             report.reason, report.text, report.status, report.resolution, report.resolved_by,
             ms_from_utc(report.resolved_at) if report.resolved_at else None,
             ms_from_utc(report.created_at)),
        ))

    async def get_report(self, report_id: int) -> Report | None:
        def run(c: sqlite3.Connection) -> Report | None:
            row = c.execute(f"SELECT {REPORT_COLUMNS} FROM reports WHERE report_id = ?",
                            (report_id,)).fetchone()
            return _report(row) if row else None

        return await self._read(run)

    async def list_reports(
        self, *, status: ReportStatus, before: int | None, limit: int
    ) -> Page[Report]:
        def run(c: sqlite3.Connection) -> Page[Report]:
            rows = c.execute(
                f"SELECT {REPORT_COLUMNS} FROM reports WHERE status = ? AND report_id < ?"
                " ORDER BY report_id DESC LIMIT ?",
                (status, before if before is not None else 2**63 - 1, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_report(r) for r in rows], rows[-1]["report_id"] if more else None)

        return await self._read(run)

    async def resolve_report(
        self, report_id: int, *, resolution: str, resolved_by: int, resolved_at: datetime
    ) -> Report | None:
        def run(c: sqlite3.Connection) -> Report | None:
            row = c.execute(
                "UPDATE reports SET status = 'resolved', resolution = ?, resolved_by = ?,"
                f" resolved_at = ? WHERE report_id = ? AND status = 'open' RETURNING {REPORT_COLUMNS}",
                (resolution, resolved_by, ms_from_utc(resolved_at), report_id),
            ).fetchone()
            return _report(row) if row else None

        return await self._write(run)

    async def add_audit_entry(self, entry: AuditEntry) -> None:
        await self._write(lambda c: c.execute(
            f"INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ({_placeholders(7)})",
            (entry.action_id, entry.actor_id, entry.action, entry.target_kind, entry.target_id,
             entry.details, ms_from_utc(entry.created_at)),
        ))

    async def list_audit_entries(self, *, before: int | None, limit: int) -> Page[AuditEntry]:
        def run(c: sqlite3.Connection) -> Page[AuditEntry]:
            rows = c.execute(
                f"SELECT {AUDIT_COLUMNS} FROM audit_log WHERE action_id < ?"
                " ORDER BY action_id DESC LIMIT ?",
                (before if before is not None else 2**63 - 1, limit + 1),
            ).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_audit_entry(r) for r in rows], rows[-1]["action_id"] if more else None)

        return await self._read(run)

    # the perceptual-hash blocklist

    async def add_hash_block(self, block: HashBlock) -> None:
        await self._write(lambda c: c.execute(
            f"INSERT INTO hash_blocks ({HASH_BLOCK_COLUMNS}) VALUES ({_placeholders(8)})",
            (block.block_id, block.pdq, json.dumps(list(block.variants)), block.source,
             block.note, block.added_by, block.post_id, ms_from_utc(block.created_at)),
        ))

    async def remove_hash_block(self, block_id: int) -> HashBlock | None:
        def run(c: sqlite3.Connection) -> HashBlock | None:
            row = c.execute(f"DELETE FROM hash_blocks WHERE block_id = ? RETURNING"
                            f" {HASH_BLOCK_COLUMNS}", (block_id,)).fetchone()
            return _hash_block(row) if row else None

        return await self._write(run)

    async def list_hash_blocks(self, *, before: int | None, limit: int) -> Page[HashBlock]:
        def run(c: sqlite3.Connection) -> Page[HashBlock]:
            rows = _page_rows(c, "hash_blocks", HASH_BLOCK_COLUMNS, "block_id", before, limit)
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_hash_block(r) for r in rows], rows[-1]["block_id"] if more else None)

        return await self._read(run)

    async def all_hash_blocks(self) -> list[HashBlock]:
        def run(c: sqlite3.Connection) -> list[HashBlock]:
            return [_hash_block(r) for r in c.execute(f"SELECT {HASH_BLOCK_COLUMNS} FROM hash_blocks")]

        return await self._read_in_thread(run)

    async def keep_post_hashes(self, hashes: PostHashes) -> None:
        await self._write(lambda c: c.execute(
            "INSERT OR REPLACE INTO post_hashes (post_id, author_id, dihedral, quality, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (hashes.post_id, hashes.author_id, json.dumps(list(hashes.dihedral)), hashes.quality,
             ms_from_utc(hashes.created_at)),
        ))

    async def get_post_hashes(self, post_id: int) -> PostHashes | None:
        def run(c: sqlite3.Connection) -> PostHashes | None:
            row = c.execute("SELECT post_id, author_id, dihedral, quality, created_at"
                            " FROM post_hashes WHERE post_id = ?", (post_id,)).fetchone()
            if row is None:
                return None
            return PostHashes(row["post_id"], row["author_id"], tuple(json.loads(row["dihedral"])),
                              row["quality"], utc_from_ms(row["created_at"]))

        return await self._read(run)

    async def add_hash_match(self, match: HashMatch) -> None:
        await self._write(lambda c: c.execute(
            f"INSERT INTO hash_matches ({HASH_MATCH_COLUMNS}) VALUES ({_placeholders(6)})",
            (match.match_id, match.block_id, match.distance, match.user_id, match.post_id,
             ms_from_utc(match.created_at)),
        ))

    async def list_hash_matches(self, *, before: int | None, limit: int) -> Page[HashMatch]:
        def run(c: sqlite3.Connection) -> Page[HashMatch]:
            rows = _page_rows(c, "hash_matches", HASH_MATCH_COLUMNS, "match_id", before, limit)
            more = len(rows) > limit
            rows = rows[:limit]
            return Page([_hash_match(r) for r in rows], rows[-1]["match_id"] if more else None)

        return await self._read(run)


def _upgrade(c: sqlite3.Connection) -> None:
    """Run the `UPGRADES` this database has not had yet, each with its `user_version`."""
    version = c.execute("PRAGMA user_version").fetchone()[0]
    for number, statement in enumerate(UPGRADES[version:], start=version + 1):
        with _transaction(c):
            c.execute(statement)
            c.execute(f"PRAGMA user_version = {number}")


def _page_rows(c: sqlite3.Connection, table: str, columns: str, key: str, before: int | None,
               limit: int) -> list[sqlite3.Row]:
    """Up to `limit` + 1 rows of `table` with `key` below `before`, newest (highest) first."""
    return c.execute(
        f"SELECT {columns} FROM {table} WHERE {key} < ? ORDER BY {key} DESC LIMIT ?",
        (before if before is not None else 2**63 - 1, limit + 1),
    ).fetchall()


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
