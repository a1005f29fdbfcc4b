"""The Lua scripts, one `.lua` file each (a `*.part.lua` file is a fragment scripts start
with). Every script touches the keys it is given in KEYS, all of one cluster slot, and
builds no key name."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def source(*names: str) -> str:
    """The text of the named files (without `.lua`), joined in order."""
    return "\n".join((files(__package__) / f"{name}.lua").read_text() for name in names)
