"""Reading hashtags (and later @mentions) out of user text."""

from __future__ import annotations

import re

HASHTAG = re.compile(r"(?<![\w#])#(\w{1,100})")
MAX_HASHTAGS = 30


def hashtags(text: str) -> tuple[str, ...]:
    """Distinct lowercase hashtags in order of first use (at most 30)."""
    seen: dict[str, None] = {}
    for match in HASHTAG.finditer(text):
        seen.setdefault(match.group(1).lower(), None)
    return tuple(seen)[:MAX_HASHTAGS]
