"""Reading hashtags and @mentions out of user text."""

from __future__ import annotations

import re

HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})")
MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9._]{1,30})")
MAX_TAGS = 30


def _distinct(pattern: re.Pattern[str], text: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for match in pattern.finditer(text):
        seen.setdefault(match.group(1).lower().rstrip("."), None)
    return tuple(tag for tag in seen if tag)[:MAX_TAGS]


def hashtags(text: str) -> tuple[str, ...]:
    """Distinct lowercase hashtags in order of first use (at most 30)."""
    return _distinct(HASHTAG, text)


def mentions(text: str) -> tuple[str, ...]:
    """Distinct lowercase @usernames in order of first use (at most 30); a trailing dot
    ends the sentence, not the name."""
    return _distinct(MENTION, text)
