"""Edge helpers shared by the routes: parse and check input, attribute the caller, shape responses."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from chalice.app import ChaliceUnhandledError, Request, Response
from pydantic import BaseModel, ValidationError

from broker_contract.names import (
    DEPLOYMENT_ID_PATTERN,
    IDENTIFIER_RULE,
    SUBSCRIPTION_ID_PATTERN,
    VERSION_RULE,
    VERSION_TEXT_PATTERN,
    is_identifier,
)
from chalicelib.auth import resolve_team
from chalicelib.errors import ApiError, FieldProblem, bad_request, from_validation_error
from chalicelib.settings import MAX_BODY_BYTES, MAX_BODY_DEPTH

logger = logging.getLogger(__name__)

P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)
JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(body: Any, status: int = 200) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json", by_alias=True)
    return Response(body=body, status_code=status, headers=dict(JSON_HEADERS))


def api_view(func: Callable[P, Response]) -> Callable[P, Response]:
    """Turn ``ApiError`` into its JSON response; anything else is unexpected (JSON 500 via middleware)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return func(*args, **kwargs)
        except ApiError as error:
            return json_response(error.body(), error.status)
        except Exception as error:
            raise ChaliceUnhandledError(error.__class__.__name__) from error

    return wrapper


@dataclass(frozen=True)
class Call:
    """An authenticated request: who calls (their team) and the query parameters the route accepts."""

    request: Request
    team: str
    params: dict[str, str]


def incoming(request: Request, allowed: Collection[str] = ()) -> Call:
    """Every route's first step: the caller's team (401/403), then the query (400 naming unknown parameters)."""
    return Call(request, caller(request), query(request, allowed))


def caller(request: Request) -> str:
    """The authenticated team of ``request`` (401/403 when there is none)."""
    return resolve_team(request.context or {})


def parse_body(request: Request, model: type[M]) -> M:
    """The JSON body validated by ``model``: 400 naming the field and rule when it is not acceptable."""
    raw = request.raw_body or b""
    if len(raw) > MAX_BODY_BYTES:
        raise bad_request(
            f"request body is {len(raw)} bytes",
            FieldProblem("body", f"must be at most {MAX_BODY_BYTES} bytes"),
        )
    if not raw:
        raise bad_request("request body is empty", FieldProblem("body", "must be a JSON object"))
    data = load_json(raw)
    if not isinstance(data, dict):
        raise bad_request("request body must be a JSON object", FieldProblem("body", "must be a JSON object"))
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise from_validation_error(error) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259 has no NaN or Infinity)")


def nesting_depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests arrays and objects, counted without recursion up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children)
    return deepest


def load_json(raw: bytes | str) -> Any:
    """Parse a request body: 400 for invalid JSON, ``NaN``/``Infinity`` and nesting deeper than ``MAX_BODY_DEPTH``.

    The parser itself recurses, so JSON nested about a thousand levels deep raises ``RecursionError``;
    that is bad input too, not a server fault.
    """
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        data = None
        too_deep = True
    except (ValueError, UnicodeDecodeError) as error:
        raise bad_request(
            f"request body is not valid JSON: {error}", FieldProblem("body", "must be valid JSON")
        ) from None
    else:
        too_deep = nesting_depth(data, MAX_BODY_DEPTH) > MAX_BODY_DEPTH
    if too_deep:
        rule = f"must not nest objects and arrays deeper than {MAX_BODY_DEPTH} levels"
        raise bad_request("request body is nested too deeply", FieldProblem("body", rule))
    return data


def query(request: Request, allowed: Collection[str]) -> dict[str, str]:
    """The query parameters, refusing names the route does not know."""
    params: dict[str, str] = dict(request.query_params or {})
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise bad_request(
            f"unknown query parameter(s): {', '.join(unknown)}",
            *(FieldProblem(name, f"unknown; allowed: {', '.join(sorted(allowed)) or 'none'}") for name in unknown),
        )
    return params


def identifier(value: str, field: str) -> str:
    if not is_identifier(value):
        raise bad_request(f"invalid {field} {value!r}", FieldProblem(field, IDENTIFIER_RULE))
    return value


def version_number(value: str, field: str = "version") -> int:
    if re.fullmatch(VERSION_TEXT_PATTERN, value) is None:
        raise bad_request(f"invalid {field} {value!r}", FieldProblem(field, VERSION_RULE))
    return int(value)


def subscription_id(value: str) -> str:
    if re.fullmatch(SUBSCRIPTION_ID_PATTERN, value) is None:
        raise bad_request(
            f"invalid subscription id {value!r}", FieldProblem("subscription_id", SUBSCRIPTION_ID_PATTERN)
        )
    return value


def deployment_id(value: str) -> str:
    if re.fullmatch(DEPLOYMENT_ID_PATTERN, value) is None:
        raise bad_request(f"invalid deployment id {value!r}", FieldProblem("deployment_id", DEPLOYMENT_ID_PATTERN))
    return value


def if_match_revision(request: Request) -> int | None:
    """The ``If-Match`` header as a revision number (quotes allowed), ``None`` when absent."""
    raw: str | None = request.headers.get("if-match") if request.headers else None
    if raw is None:
        return None
    match = re.fullmatch(r'"?([0-9]{1,15})"?', raw.strip())
    if match is None:
        raise bad_request(
            "invalid If-Match", FieldProblem("If-Match", "must be the event's revision number (at most 15 digits)")
        )
    return int(match.group(1))


def flag(params: dict[str, str], name: str) -> bool:
    # exactly the two spellings the OpenAPI document declares
    raw = params.get(name, "false")
    if raw not in ("true", "false"):
        raise bad_request(f"invalid {name} {raw!r}", FieldProblem(name, "must be 'true' or 'false'"))
    return raw == "true"


def optional_identifier(params: dict[str, str], name: str) -> str | None:
    value = params.get(name)
    return identifier(value, name) if value is not None else None
