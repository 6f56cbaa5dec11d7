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


#: Chalice answers these itself, in its own shape (``{"Code", "Message"}``)
_CHALICE_ERRORS = {405: "method_not_allowed", 415: "unsupported_media_type"}


def unhandled_errors(event: Any, get_response: Callable[[Any], Response]) -> Response:
    """HTTP middleware: log the exception with a reference, answer ``{"error": {"code": "internal"}}``.

    Chalice's own refusals (405, 415) are given the portal's error shape too.
    """
    try:
        response = get_response(event)
    except Exception:
        reference = uuid.uuid4().hex
        logger.exception("unhandled error %s on %s %s", reference, event.method, event.path)
        failure: dict[str, Any] = {
            "error": {
                "code": "internal",
                "message": f"an internal error occurred (reference {reference})",
                "details": [],
            }
        }
        return Response(body=failure, status_code=500, headers=dict(JSON_HEADERS))
    own = response.body if isinstance(response.body, dict) else {}
    if response.status_code in _CHALICE_ERRORS and set(own) == {"Code", "Message"}:
        field = "Content-Type" if response.status_code == 415 else "method"
        body: dict[str, Any] = {
            "error": {
                "code": _CHALICE_ERRORS[response.status_code],
                "message": str(own["Message"]),
                "details": [{"field": field, "rule": str(own["Message"])}],
            }
        }
        return Response(body=body, status_code=response.status_code, headers={**response.headers, **JSON_HEADERS})
    return response
