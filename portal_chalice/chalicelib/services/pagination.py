"""Opaque cursors: the DynamoDB ``LastEvaluatedKey`` as URL-safe base64 JSON, checked on the way back."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from broker_contract.catalog import KEY_ATTRIBUTES
from chalicelib.errors import FieldProblem, bad_request

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if last_key is None:
        return None
    raw = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, str] | None:
    """The start key a cursor encodes; a 400 naming ``cursor`` when it is not one we issued."""
    if cursor is None:
        return None
    problem = FieldProblem("cursor", "must be a next_cursor value returned by this API")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad_request("invalid cursor", problem) from None
    if (
        not isinstance(value, dict)
        or not value
        or not set(value) <= set(KEY_ATTRIBUTES)
        or not all(isinstance(item, str) and len(item) <= 1024 for item in value.values())
    ):
        raise bad_request("invalid cursor", problem)
    return value


def parse_limit(raw: str | None) -> int:
    """``limit`` query parameter: 1..100, default 20."""
    if raw is None:
        return DEFAULT_LIMIT
    # str.isdigit() accepts '²' and other digits int() refuses: only ASCII digits, and not thousands of them
    if re.fullmatch(r"[0-9]{1,3}", raw) is None or not 1 <= int(raw) <= MAX_LIMIT:
        raise bad_request(
            f"invalid limit {raw!r}", FieldProblem("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
        )
    return int(raw)
