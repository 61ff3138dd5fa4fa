"""Fast JSON responses (orjson) for the API's hot paths."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


def json_response(data: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise ``data`` with orjson (datetimes as ISO 8601) into a JSON response."""
    return Response(
        orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )
