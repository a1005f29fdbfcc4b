"""Quart's JSON: responses encoded by orjson, several times faster than the standard
library on large bodies such as a feed page; request bodies parsed by `json` once their
nesting is known to be shallow."""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic_core import to_jsonable_python
from quart.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_NON_STR_KEYS
MAX_DEPTH = 32
"""How deep arrays and objects may nest in a request body. Ours nest two levels; `json`
recurses once per level, so a thousand levels would end in a RecursionError."""
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_AS_SQUARE = bytes.maketrans(b"{}", b"[]")


class TooDeep(ValueError):
    """A JSON text nests arrays and objects deeper than `MAX_DEPTH`."""


def check_depth(text: bytes) -> None:
    """Raise `TooDeep` if arrays and objects in the JSON `text` nest deeper than
    `MAX_DEPTH` (brackets inside strings do not count). No recursion, no Python-level
    loop over the text: at most `MAX_DEPTH` passes of `bytes.replace`."""
    if text.count(b"[") + text.count(b"{") <= MAX_DEPTH:
        return
    brackets = _STRING.sub(b"", text).translate(_AS_SQUARE, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH):  # each pass takes away the innermost level
        brackets = brackets.replace(b"[]", b"")
    if b"[]" in brackets:
        raise TooDeep(f"arrays and objects nest deeper than {MAX_DEPTH} levels")


class OrjsonProvider(DefaultJSONProvider):
    """Installed after QuartSchema's provider, keeping its pydantic support."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("indent"):  # the formatted OpenAPI document
            return super().dumps(obj, default=to_jsonable_python, **kwargs)
        return orjson.dumps(obj, default=to_jsonable_python, option=OPTIONS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Raises `TooDeep` (a ValueError, like any unreadable text) before parsing."""
        check_depth(s if isinstance(s, bytes) else s.encode("utf-8", "replace"))
        return super().loads(s, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Any:
        body = orjson.dumps(self._prepare_response_obj(args, kwargs),
                            default=to_jsonable_python, option=OPTIONS)
        response_class: Any = self._app.response_class  # Quart's, typed as Flask's
        return response_class(body, mimetype=self.mimetype)
