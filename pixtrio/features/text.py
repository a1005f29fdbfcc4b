"""User text: what may be stored, and the hashtags and @mentions read out of it."""

from __future__ import annotations

import re
import unicodedata

from pixtrio.features.errors import InvalidField

HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})")
TAG = re.compile(r"\w{1,100}")
"""A hashtag's name, as `HASHTAG` reads it."""
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9._]{1,30})")
MAX_TAGS = 30

# Control characters (Unicode Cc: C0, DEL, C1). Lines of text keep tab and line breaks
# (a browser's textarea sends CRLF); one-line fields take none.
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
CONTROLS_BUT_LINE_BREAKS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidi embeddings, overrides and isolates: in a name they make it read as someone else's.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def check_text(field: str, value: str, *, lines: bool = False, name: bool = False) -> str:
    """`value` if it may be stored as `field`; raises `InvalidField` naming it if it holds
    control characters (tab and line breaks are allowed when `lines`), or, when `name`,
    bidi controls."""
    found = (CONTROLS_BUT_LINE_BREAKS if lines else CONTROLS).search(value)
    if found:
        raise InvalidField(field, f"must not contain control characters (found U+{ord(found.group()):04X})")
    found = BIDI_CONTROLS.search(value) if name else None
    if found:
        raise InvalidField(field, f"must not contain bidi controls (found U+{ord(found.group()):04X})")
    return value


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: only whitespace and format characters (Unicode Cf,
    such as zero-width spaces)."""
    return all(ch.isspace() or unicodedata.category(ch) == "Cf" for ch in text)


def _distinct(pattern: re.Pattern[str], text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for match in pattern.finditer(text):
        seen.setdefault(match.group(1).lower().rstrip("."), None)
    return tuple(tag for tag in seen if tag)[:MAX_TAGS]


def hashtags(text: str) -> tuple[str, ...]:
    """Distinct lowercase hashtags in order of first use (at most 30)."""
    return _distinct(HASHTAG, text)


def tag_key(name: str) -> str | None:
    """The stored (lowercase) form of the hashtag written `name` in any case, or None when
    no hashtag is written so. A stored form counts too, though lowercasing "İ" gives "i"
    and U+0307, which is no word character: the web client links tags by that form."""
    if TAG.fullmatch(name) or TAG.fullmatch(name.replace("i\u0307", "i")):
        return name.lower()
    return None


def mentions(text: str) -> tuple[str, ...]:
    """Distinct lowercase @usernames in order of first use (at most 30); a trailing dot
    ends the sentence, not the name."""
    return _distinct(MENTION, text)
