"""Time-ordered 64-bit ids."""

from __future__ import annotations

import time

import pytest

from pixtrio.features import ids
from pixtrio.features.ids import MAX_ID, IdGenerator, NoWorkerField, id_time_ms, parse_id


def test_ids_increase_and_carry_time_and_worker() -> None:
    gen = IdGenerator(37)
    before = int(time.time() * 1000)
    made = [gen.next_id() for _ in range(20_000)]  # more than 4096 per millisecond
    after = int(time.time() * 1000)
    assert made == sorted(made) and len(set(made)) == len(made)
    assert all(0 < i < 2**63 for i in made)
    assert before <= id_time_ms(made[0]) and id_time_ms(made[-1]) <= after + 10
    assert all((i >> 12) & 0x3FF == 37 for i in made)


def test_distinct_workers_never_collide() -> None:
    a, b = IdGenerator(1), IdGenerator(2)
    made = [g.next_id() for _ in range(5000) for g in (a, b)]
    assert len(set(made)) == len(made)


def test_clock_stepping_back_keeps_ids_increasing(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(ids.time, "time", lambda: now[0])
    gen = IdGenerator(0)
    first = gen.next_id()
    now[0] -= 5  # NTP steps the clock back
    assert gen.next_id() > first


def test_worker_range_is_checked() -> None:
    with pytest.raises(ValueError):
        IdGenerator(1024)


def test_ids_follow_the_leased_field_and_stop_while_none_is_held() -> None:
    held: list[int | None] = [5]
    gen = IdGenerator(lambda: held[0])
    first = gen.next_id()
    assert (first >> 12) & 0x3FF == 5
    held[0] = None  # the lease lapsed
    with pytest.raises(NoWorkerField):
        gen.next_id()
    assert gen.worker_id is None
    held[0] = 9  # another field leased
    later = gen.next_id()
    assert later > first and (later >> 12) & 0x3FF == 9


def test_parse_id_takes_ascii_digits_within_64_bits_only() -> None:
    assert parse_id("1") == 1 and parse_id(str(MAX_ID)) == MAX_ID == 2**63 - 1
    assert parse_id("00042") == 42
    # "²".isdigit() and int("٣") == 3: neither is an id here
    for text in ("", "0", str(2**63), str(2**64), "9999999999999999999", "1" * 40, "²", "¹",
                 "٣", "١٢", "3²", "-1", "+1", " 1", "1 ", "1_000", "1e3", "0x1", "1\n", "a"):
        assert parse_id(text) is None, text
