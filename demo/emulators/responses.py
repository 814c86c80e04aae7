"""The emulators' JSON responses, rendered with orjson: a run of the benchmarks has them answer
hundreds of thousands of pages and orders, and the standard library's encoder was a seventh of it."""

from __future__ import annotations

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    def render(self, content) -> bytes:
        return orjson.dumps(content)
