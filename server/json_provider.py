"""Quart's JSON responses encoded by orjson: several times faster than the standard
library on large bodies such as a feed page. Request bodies are still parsed by `json`."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic_core import to_jsonable_python
from quart.json.provider import DefaultJSONProvider

OPTIONS = orjson.OPT_NON_STR_KEYS


class OrjsonProvider(DefaultJSONProvider):
    """Installed after QuartSchema's provider, keeping its pydantic support."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("indent"):  # the formatted OpenAPI document
            return super().dumps(obj, default=to_jsonable_python, **kwargs)
        return orjson.dumps(obj, default=to_jsonable_python, option=OPTIONS).decode()

    def response(self, *args: Any, **kwargs: Any) -> Any:
        body = orjson.dumps(self._prepare_response_obj(args, kwargs),
                            default=to_jsonable_python, option=OPTIONS)
        response_class: Any = self._app.response_class  # Quart's, typed as Flask's
        return response_class(body, mimetype=self.mimetype)
