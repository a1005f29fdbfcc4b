"""SQLite query plans the feed's cold reads depend on: the newest posts of a user's
followees come from one index range per author, whatever else the table holds."""

from __future__ import annotations

import sqlite3

import pytest

from storage.sqlite import SCHEMA, recent_ready_sql


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
