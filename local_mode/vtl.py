"""API Gateway mapping templates rendered with a real Velocity engine: ``airspeed-ext`` plus API Gateway's variables.

``airspeed-ext`` (the Velocity engine LocalStack keeps compatible with AWS's templates) does the language:
references, ``#set``, ``#if``/``#foreach``, string literals, Java string methods (``replaceAll``, ``contains``
...), and AWS's rendering of null references (empty). This module only provides what API Gateway puts in a
template's namespace, as documented in its mapping template reference:

- ``$input``: ``body`` (the raw payload), ``json(path)`` (the JSON text of what a JSONPath selects),
  ``path(path)`` (the selected value itself), ``params()`` / ``params(name)`` (path, query string, headers);
- ``$util``: ``escapeJavaScript`` (Apache Commons Lang 2 ``StringEscapeUtils.escapeJavaScript``, which API
  Gateway documents as the implementation: UTF-16 code units, upper-case hex, ``'`` becomes ``\\'`` and ``/``
  becomes ``\\/``), ``parseJson``, ``urlEncode``/``urlDecode``, ``base64Encode``/``base64Decode``;
- ``$context``: request data (``requestId``, ``httpMethod``, ``resourcePath``, ``stage``, ``identity`` ...),
  ``error`` for gateway responses, and ``responseOverride`` whose ``status``/``header`` a template may set;
- ``$stageVariables``.

JSONPath is evaluated by ``jsonpath-ng`` (dot and bracket notation, indices, wildcards). Local mode's gateway
and the tests of the HTTPS producer's templates both render through :func:`render`.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import airspeed
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.parser import parse as parse_jsonpath

_NAMED_CONTROLS = {"\b": "b", "\n": "n", "\t": "t", "\f": "f", "\r": "r"}


class VtlError(ValueError):
    """A template could not be rendered: bad syntax, a failing expression, or a body that is not JSON."""


@dataclass(frozen=True)
class Rendered:
    """What API Gateway sends on: the rendered text and the ``$context.responseOverride`` values a template set."""

    body: str
    overrides: dict[str, Any] = field(default_factory=dict)


def escape_javascript(text: str) -> str:
    """Commons Lang 2 ``StringEscapeUtils.escapeJavaScript``: Java-style escapes plus ``\\'`` and ``\\/``."""
    out: list[str] = []
    units = text.encode("utf-16-be", "surrogatepass")
    for index in range(0, len(units), 2):
        code = int.from_bytes(units[index : index + 2], "big")
        char = chr(code)
        if code > 0x7F:
            out.append(f"\\u{code:04X}")
        elif code < 32:
            out.append(f"\\{_NAMED_CONTROLS[char]}" if char in _NAMED_CONTROLS else f"\\u{code:04X}")
        elif char in "'\"\\/":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def velocity_text(value: Any) -> str:
    """How Java Velocity writes a value: ``true``/``false``, ``{k=v, ...}`` for maps, ``[a, b]`` for lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={velocity_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(velocity_text(item) for item in value) + "]"
    return str(value)


def select(document: Any, path: str) -> Any:
    """The value a JSONPath selects: one match is the value, several (wildcards) a list, none ``None``."""
    try:
        matches = [match.value for match in parse_jsonpath(path).find(document)]
    except JSONPathError as error:
        raise VtlError(f"invalid JSONPath {path!r}: {error}") from error
    if not matches:
        return None
    if len(matches) == 1 and "*" not in path and ".." not in path:
        return matches[0]
    return matches


class ApiGatewayInput:
    """``$input``: the request (or integration response) payload and the request's parameters."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.body = body
        given = params or {}
        self._params = {part: dict(given.get(part, {})) for part in ("path", "querystring", "header")}

    def _document(self) -> Any:
        if not self.body.strip():
            return {}  # API Gateway treats an empty payload as an empty object
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as error:
            raise VtlError(f"the payload is not JSON: {error}") from error

    def json(self, path: str) -> str:
        """The JSON text of what ``path`` selects."""
        return json.dumps(select(self._document(), path), ensure_ascii=False, separators=(",", ":"))

    def path(self, path: str) -> Any:
        """What ``path`` selects, as an object templates can navigate."""
        return select(self._document(), path)

    def params(self, name: str | None = None) -> Any:
        """All parameters (``path``, ``querystring``, ``header``), or the one named, looked up in that order."""
        if name is None:
            return self._params
        for part in ("path", "querystring"):
            if name in self._params[part]:
                return self._params[part][name]
        headers = {key.lower(): value for key, value in self._params["header"].items()}
        return headers.get(name.lower())


class ApiGatewayUtil:
    """``$util``: API Gateway's helper functions."""

    def escapeJavaScript(self, value: Any) -> str | None:
        return None if value is None else escape_javascript(velocity_text(value))

    def parseJson(self, text: str) -> Any:
        try:
            return json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise VtlError(f"$util.parseJson: not JSON: {error}") from error

    def urlEncode(self, text: str) -> str:
        return urllib.parse.quote_plus(velocity_text(text))

    def urlDecode(self, text: str) -> str:
        return urllib.parse.unquote_plus(velocity_text(text))

    def base64Encode(self, text: str) -> str:
        return base64.b64encode(velocity_text(text).encode()).decode()

    def base64Decode(self, text: str) -> str:
        return base64.b64decode(velocity_text(text)).decode(errors="replace")


def render(
    template: str,
    body: str,
    *,
    context: Mapping[str, Any] | None = None,
    params: Mapping[str, Mapping[str, str]] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> Rendered:
    """Render ``template`` for a payload ``body`` (text) as API Gateway would.

    ``context`` becomes ``$context`` (copied; ``responseOverride`` is added); what the template sets in
    ``$context.responseOverride`` comes back in :attr:`Rendered.overrides`.
    """
    context_vars: dict[str, Any] = {**(context or {}), "responseOverride": {"header": {}}}
    namespace = {
        "input": ApiGatewayInput(body, params),
        "util": ApiGatewayUtil(),
        "context": context_vars,
        "stageVariables": dict(stage_variables or {}),
    }
    try:
        text = airspeed.Template(template).merge(namespace)
    except airspeed.TemplateError as error:
        raise VtlError(str(error)) from error
    overrides = {key: value for key, value in context_vars["responseOverride"].items() if value not in ({}, None)}
    return Rendered(str(text), overrides)


def render_document(template: str, document: Any, **options: Any) -> Rendered:
    """:func:`render` for a payload given as a JSON value (serialized compactly first)."""
    return render(template, json.dumps(document, ensure_ascii=False, separators=(",", ":")), **options)
