"""The last line of defence: any unexpected exception becomes a JSON 500 without a trace."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from chalice.app import Response

from chalicelib.http import JSON_HEADERS

#: tests watch this logger to show that bad input never ends up here
logger = logging.getLogger("chalicelib.unhandled")


def unhandled_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: log the exception with a reference, answer ``{"error": {"code": "internal"}}``."""
    try:
        return get_response(event)
    except Exception:
        reference = uuid.uuid4().hex
        logger.exception("unhandled error %s on %s %s", reference, event.method, event.path)
        body = {
            "error": {
                "code": "internal",
                "message": f"an internal error occurred (reference {reference})",
                "details": [],
            }
        }
        return Response(body=body, status_code=500, headers=dict(JSON_HEADERS))
