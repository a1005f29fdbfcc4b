"""SQLite query plans the feed's cold reads depend on: the newest posts of a user's
followees come from one index range per author, whatever else the table holds; a tag's
posts come from one range of the tag index. And what opening an older database changes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pixtrio.storage.sqlite import (
    POSTS_WITH_HASHTAG_SQL,
    SCHEMA,
    UPGRADES,
    SqliteStore,
    recent_ready_sql,
)


def posts_table(*, analyzed: bool) -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    c.executescript(SCHEMA)
    c.executemany(
        "INSERT INTO posts (post_id, author_id, kind, status, created_at) VALUES (?, ?, ?, ?, ?)",
        [(n, n % 500, "photo", "processing" if n % 97 == 0 else "ready", n)
         for n in range(1, 20_001)])
    if analyzed:
        c.execute("ANALYZE")
    return c


@pytest.mark.parametrize("analyzed", [False, True])
def test_recent_ready_posts_are_read_by_author(analyzed: bool) -> None:
    c = posts_table(analyzed=analyzed)
    authors = (3, 4, 5)
    plan = " ".join(row[3] for row in c.execute(
        "EXPLAIN QUERY PLAN " + recent_ready_sql(len(authors)), (*authors, 10)))
    assert "posts_by_author" in plan, plan
    rows = c.execute(recent_ready_sql(len(authors)), (*authors, 10)).fetchall()
    expected = sorted((n for n in range(1, 20_001) if n % 500 in authors and n % 97), reverse=True)
    assert [post_id for post_id, _ in rows] == expected[:10]


def test_opening_an_older_database_drops_the_status_index() -> None:
    c = sqlite3.connect(":memory:")
    c.executescript(SCHEMA)
    c.execute("CREATE INDEX posts_by_status ON posts (status, created_at)")
    c.executescript(SCHEMA)
    indexes = {row[0] for row in c.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "posts_by_status" not in indexes and "posts_processing" in indexes


@pytest.mark.parametrize("analyzed", [False, True])
def test_a_tags_posts_are_read_from_the_tag_index(analyzed: bool) -> None:
    c = posts_table(analyzed=analyzed)
    c.executemany("INSERT INTO post_hashtags (tag, post_id) VALUES (?, ?)",
                  [(f"tag{n % 50}", n) for n in range(1, 20_001)]
                  + [("rare", n) for n in range(1, 20_001, 1000)])
    if analyzed:
        c.execute("ANALYZE")
    arguments = ("tag7", 15_000, 10)
    plan = " ".join(row[3] for row in c.execute(
        "EXPLAIN QUERY PLAN " + POSTS_WITH_HASHTAG_SQL, arguments))
    assert "SEARCH h USING PRIMARY KEY (tag=? AND post_id<?)" in plan, plan
    assert "SEARCH p USING INTEGER PRIMARY KEY" in plan, plan
    assert "SCAN" not in plan and "TEMP B-TREE" not in plan, plan
    rows = c.execute(POSTS_WITH_HASHTAG_SQL, arguments).fetchall()
    expected = [n for n in range(14_999, 0, -1) if n % 50 == 7 and n % 97][:10]
    assert [row[0] for row in rows] == expected


async def test_opening_an_older_database_indexes_its_posts_hashtags(tmp_path: Path) -> None:
    """A database from before `post_hashtags` has it filled from `posts.hashtags` once."""
    path = tmp_path / "meta.db"
    c = sqlite3.connect(path)
    c.executescript(SCHEMA)
    c.execute("DROP TABLE post_hashtags")
    c.executemany(
        "INSERT INTO posts (post_id, author_id, kind, status, hashtags, created_at)"
        " VALUES (?, 1, 'photo', ?, ?, 0)",
        [(1, "ready", json.dumps(["sun", "sea"])), (2, "ready", json.dumps(["sun"])),
         (3, "processing", json.dumps(["sun"])), (4, "ready", "[]")])
    c.commit()
    c.close()
    for _ in range(2):  # the second opening adds nothing
        store = await SqliteStore.open(path)
        try:
            page = await store.posts_with_hashtag("sun", before=None, limit=10)
            assert [p.post_id for p in page.items] == [2, 1]
            assert [p.post_id for p in (await store.posts_with_hashtag(
                "sea", before=None, limit=10)).items] == [1]
        finally:
            await store.aclose()
    c = sqlite3.connect(path)
    assert c.execute("SELECT COUNT(*) FROM post_hashtags").fetchone()[0] == 4
    assert c.execute("PRAGMA user_version").fetchone()[0] == len(UPGRADES)
    c.close()


async def test_opening_an_older_database_names_its_tokens_sessions(tmp_path: Path) -> None:
    """Tokens from before `token_sessions` each get a session there, once: listed, and
    revocable by its id."""
    path = tmp_path / "meta.db"
    c = sqlite3.connect(path)
    c.executescript(SCHEMA)
    c.execute("DROP TABLE token_sessions")
    c.execute("INSERT INTO users (user_id, username, email, password_hash, created_at)"
              " VALUES (1, 'ann', 'ann@example.com', 'h', 0)")
    c.executemany("INSERT INTO tokens (token_hash, user_id, created_at) VALUES (?, 1, ?)",
                  [(b"a" * 32, 1), (b"b" * 32, 2)])
    c.commit()
    c.close()
    for _ in range(2):
        store = await SqliteStore.open(path)
        try:
            tokens = await store.list_tokens(1)
        finally:
            await store.aclose()
        assert [t.token_hash for t in tokens] == [b"b" * 32, b"a" * 32]
        assert len({t.session_id for t in tokens}) == 2
        assert all(t.session_id.isascii() and t.session_id.isalnum() for t in tokens)
    store = await SqliteStore.open(path)
    try:
        assert await store.revoke_session(1, tokens[0].session_id) == tokens[0]
        assert await store.get_token_user(b"b" * 32) is None
    finally:
        await store.aclose()


async def test_opening_an_older_database_gives_its_users_a_role(tmp_path: Path) -> None:
    """Users stored before roles and suspension are plain users, not suspended."""
    path = tmp_path / "meta.db"
    c = sqlite3.connect(path)
    c.executescript(SCHEMA)
    c.execute("INSERT INTO users (user_id, username, email, password_hash, created_at)"
              " VALUES (1, 'old', 'old@example.com', 'x', 0)")
    c.execute("PRAGMA user_version = 1")
    c.commit()
    c.close()
    store = await SqliteStore.open(path)
    try:
        user = await store.get_user(1)
        assert user is not None and (user.role, user.suspended, user.is_private) == (
            "user", False, False)
        updated = await store.update_profile(1, is_private=True)
        assert updated is not None and updated.is_private is True
    finally:
        await store.aclose()
