"""Errors the API returns, and the one JSON shape they all take.

Every error body is ``{"error": {"code", "message", "details": [{"field", "rule"}]}}``; services
raise these, routes turn them into responses, nothing else reaches the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from broker_contract.models import PATTERN_RULES


@dataclass(frozen=True)
class FieldProblem:
    """One reason input was refused: the field (dotted path or JSON pointer) and the rule it breaks."""

    field: str
    rule: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule}


@dataclass
class ApiError(Exception):
    """An error the caller can act on; ``status`` is the HTTP status."""

    message: str
    details: Sequence[FieldProblem] = field(default_factory=tuple)
    status: int = 400
    code: str = "bad_request"

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [problem.to_dict() for problem in self.details],
            }
        }


def bad_request(message: str, *problems: FieldProblem) -> ApiError:
    return ApiError(message, problems, 400, "bad_request")


def unauthorized(message: str = "missing or invalid credentials") -> ApiError:
    return ApiError(message, (), 401, "unauthorized")


def forbidden(message: str) -> ApiError:
    return ApiError(message, (), 403, "forbidden")


def not_found(message: str) -> ApiError:
    return ApiError(message, (), 404, "not_found")


def conflict(message: str) -> ApiError:
    return ApiError(message, (), 409, "conflict")


def incompatible(message: str, *problems: FieldProblem) -> ApiError:
    """A new schema breaks the event's compatibility mode: one detail per problem."""
    return ApiError(message, problems, 409, "incompatible_schema")


def incomplete(message: str) -> ApiError:
    """A change was committed but a later step failed; ``manage reconcile`` completes it."""
    return ApiError(message, (), 503, "incomplete")


def rule_of(item: Any) -> str:
    """pydantic's message, with a pattern's meaning in words first (a regex alone tells a user little)."""
    if item["type"] == "string_pattern_mismatch":
        meaning = PATTERN_RULES.get(item.get("ctx", {}).get("pattern", ""))
        if meaning:
            return f"{meaning} ({item['msg']})"
    return str(item["msg"])


def from_validation_error(error: ValidationError, prefix: str = "") -> ApiError:
    """A 400 naming every refused field (dotted path) and the rule pydantic applied."""
    problems = []
    for item in error.errors(include_url=False):
        path = ".".join(str(part) for part in item["loc"])
        where = f"{prefix}.{path}" if prefix and path else (prefix or path or "body")
        problems.append(FieldProblem(where, rule_of(item)))
    summary = "; ".join(f"{problem.field}: {problem.rule}" for problem in problems)
    return bad_request(f"invalid request: {summary}", *problems)
