"""The rules for user text (server.text): what may be stored, and what counts as blank."""

from __future__ import annotations

import pytest

from pixtrio.features.errors import InvalidField
from pixtrio.features.text import check_text, hashtags, is_blank, tag_key


@pytest.mark.parametrize("char", [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))])
def test_one_line_text_refuses_every_control_character(char: str) -> None:
    with pytest.raises(InvalidField) as caught:
        check_text("location", f"a{char}b")
    assert caught.value.code == "invalid_field" and caught.value.field == "location"
    assert caught.value.message == (
        f"location: must not contain control characters (found U+{ord(char):04X})")


@pytest.mark.parametrize("char", [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))])
def test_lines_of_text_keep_only_tab_and_line_breaks(char: str) -> None:
    if char in "\t\n\r":
        assert check_text("bio", f"a{char}b", lines=True) == f"a{char}b"
    else:
        with pytest.raises(InvalidField, match="^bio: .*control"):
            check_text("bio", f"a{char}b", lines=True)


@pytest.mark.parametrize("char", ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
                                  "\u2066", "\u2067", "\u2068", "\u2069"])
def test_names_refuse_bidi_controls_where_other_text_keeps_them(char: str) -> None:
    with pytest.raises(InvalidField, match=f"^display_name: .*bidi.*U\\+{ord(char):04X}"):
        check_text("display_name", f"a{char}b", name=True)
    assert check_text("caption", f"a{char}b", lines=True) == f"a{char}b"


def test_ordinary_text_passes() -> None:
    for text in ("", "plain", "שלום Al", "emoji 👩‍👩‍👧 and\u200bjoiners", "é\u0301"):
        assert check_text("display_name", text, name=True) == text


@pytest.mark.parametrize(("text", "blank"), [
    ("", True), ("  \t\n", True), ("\u3000\u00a0", True),
    ("\u200b", True), ("\u200b\u200c\u200d\u2060\ufeff\u00ad", True), (" \u200e\u202e ", True),
    ("x", False), ("\u200bx\u200b", False),
])
def test_blank_means_only_whitespace_or_format_characters(text: str, blank: bool) -> None:
    assert is_blank(text) is blank


def test_a_tag_is_looked_up_as_hashtags_stores_it() -> None:
    for written in ("Sunset", "SUNSET", "café", "CAFÉ", "١٢٣", "snake_case", "x" * 100,
                    "İstanbul", "ΟΔΟΣ"):
        (stored,) = hashtags(f"#{written}")
        assert tag_key(written) == tag_key(stored) == stored, written
    assert tag_key("i\u0307stanbul") == "i\u0307stanbul"  # how "İstanbul" is stored
    for nothing in ("", "x" * 101, "a.b", "a b", "#a", "a\n", "a\x00", "\u0307", "🌅", ".."):
        assert tag_key(nothing) is None, nothing
