"""Event schemas: the envelope every event travels in, and the JSON Schema draft-04 rules.

API Gateway request models and the EventBridge schema registry only understand JSON Schema
draft-04, so a user's ``data`` schema is checked against draft-04 here, before anything is stored.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

DRAFT04_URI = "http://json-schema.org/draft-04/schema#"
_DRAFT04_URIS = {DRAFT04_URI, "http://json-schema.org/draft-04/schema", "https://json-schema.org/draft-04/schema#"}

#: Keywords introduced after draft-04: API Gateway would silently ignore them, so a producer
#: would believe a rule is enforced when it is not. We refuse them instead.
LATER_DRAFT_KEYWORDS: dict[str, str] = {
    "const": "draft-06",
    "contains": "draft-06",
    "propertyNames": "draft-06",
    "examples": "draft-06",
    "$comment": "draft-07",
    "if": "draft-07",
    "then": "draft-07",
    "else": "draft-07",
    "readOnly": "draft-07",
    "writeOnly": "draft-07",
    "contentMediaType": "draft-07",
    "contentEncoding": "draft-07",
    "$defs": "2019-09",
    "$anchor": "2019-09",
    "$recursiveRef": "2019-09",
    "$recursiveAnchor": "2019-09",
    "dependentRequired": "2019-09",
    "dependentSchemas": "2019-09",
    "unevaluatedProperties": "2019-09",
    "unevaluatedItems": "2019-09",
    "minContains": "2019-09",
    "maxContains": "2019-09",
    "deprecated": "2019-09",
    "prefixItems": "2020-12",
    "$dynamicRef": "2020-12",
    "$dynamicAnchor": "2020-12",
}

# Keywords whose value is a subschema, a list of subschemas, or a map of name -> subschema.
_SUBSCHEMA = ("not", "additionalProperties", "additionalItems", "items")
_SUBSCHEMA_LIST = ("allOf", "anyOf", "oneOf", "items")
_SUBSCHEMA_MAP = ("properties", "patternProperties", "definitions", "dependencies")

MAX_SCHEMA_DEPTH = 32


@dataclass(frozen=True)
class SchemaProblem:
    """One reason a schema is refused: where in the schema (a JSON pointer) and which rule."""

    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


def _walk(schema: Any, pointer: str, depth: int) -> Iterator[SchemaProblem]:
    if depth > MAX_SCHEMA_DEPTH:
        yield SchemaProblem(pointer, f"schema is nested deeper than {MAX_SCHEMA_DEPTH} levels")
        return
    if not isinstance(schema, dict):
        return
    for keyword, value in schema.items():
        if keyword == "id" and pointer and isinstance(value, str):
            # a nested id changes the base URI of every $ref below it; we rewrite and check refs by pointer
            yield SchemaProblem(f"{pointer}/id", "'id' is only allowed at the top of the schema")
        if keyword in LATER_DRAFT_KEYWORDS:
            yield SchemaProblem(
                f"{pointer}/{keyword}",
                f"keyword '{keyword}' is JSON Schema {LATER_DRAFT_KEYWORDS[keyword]}; only draft-04 is accepted",
            )
        if keyword in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            yield SchemaProblem(
                f"{pointer}/{keyword}",
                f"'{keyword}' must be a boolean in draft-04 (a number is the draft-06 form)",
            )
        if keyword == "$schema" and pointer == "" and value not in _DRAFT04_URIS:
            yield SchemaProblem("/$schema", f"'$schema' must be {DRAFT04_URI!r} (draft-04), not {value!r}")
    for keyword in _SUBSCHEMA:
        if isinstance(schema.get(keyword), dict):
            yield from _walk(schema[keyword], f"{pointer}/{keyword}", depth + 1)
    for keyword in _SUBSCHEMA_LIST:
        if isinstance(schema.get(keyword), list):
            for index, item in enumerate(schema[keyword]):
                yield from _walk(item, f"{pointer}/{keyword}/{index}", depth + 1)
    for keyword in _SUBSCHEMA_MAP:
        if isinstance(schema.get(keyword), dict):
            for name, item in schema[keyword].items():
                yield from _walk(item, f"{pointer}/{keyword}/{name}", depth + 1)


def _subschemas(schema: Any, pointer: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema (pointer, schema) reachable through schema keywords, ``schema`` itself first."""
    if not isinstance(schema, dict):
        return
    yield pointer, schema
    for keyword in _SUBSCHEMA:
        if isinstance(schema.get(keyword), dict):
            yield from _subschemas(schema[keyword], f"{pointer}/{keyword}")
    for keyword in _SUBSCHEMA_LIST:
        if isinstance(schema.get(keyword), list):
            for index, item in enumerate(schema[keyword]):
                yield from _subschemas(item, f"{pointer}/{keyword}/{index}")
    for keyword in _SUBSCHEMA_MAP:
        if isinstance(schema.get(keyword), dict):
            for name, item in schema[keyword].items():
                yield from _subschemas(item, f"{pointer}/{keyword}/{_escape(name)}")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def resolve_pointer(document: Any, fragment: str) -> Any:
    """The value a same-document reference (``#/a/b``) points to; ``KeyError`` when it points nowhere."""
    if not fragment.startswith("#"):
        raise KeyError(fragment)
    path = unquote(fragment[1:])
    if path == "":
        return document
    if not path.startswith("/"):
        raise KeyError(fragment)
    node = document
    for raw in path[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isascii() and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise KeyError(fragment)
    return node


def reference_problems(schema: dict[str, Any]) -> list[SchemaProblem]:
    """``$ref``s that are remote (``http:``, ``file:``, relative files), dangling, or loop on themselves.

    Only references inside the document (``#`` or ``#/json/pointer``) are accepted: the schema is
    copied under the envelope's ``data`` and into API Gateway, where no other document exists.
    """
    problems: list[SchemaProblem] = []
    for pointer, subschema in _subschemas(schema):
        ref = subschema.get("$ref")
        if ref is None:
            continue
        where = f"{pointer}/$ref"
        if not isinstance(ref, str):
            problems.append(SchemaProblem(where, "'$ref' must be a string"))
            continue
        if not ref.startswith("#"):
            problems.append(
                SchemaProblem(where, f"'$ref' {ref!r} is remote; only references inside the schema ('#/...') work")
            )
            continue
        seen = {ref}
        target: Any = subschema
        current = ref
        while True:
            try:
                target = resolve_pointer(schema, current)
            except KeyError:
                problems.append(SchemaProblem(where, f"'$ref' {current!r} points to nothing in this schema"))
                break
            if not isinstance(target, dict):
                problems.append(SchemaProblem(where, f"'$ref' {current!r} does not point to a schema (an object)"))
                break
            following = target.get("$ref")
            if not isinstance(following, str) or not following.startswith("#"):
                break
            if following in seen:
                problems.append(
                    SchemaProblem(where, f"'$ref' {ref!r} leads into a loop of references with no schema between")
                )
                break
            seen.add(following)
            current = following
    return problems


def _non_finite(value: Any, pointer: str = "") -> Iterator[SchemaProblem]:
    stack: list[tuple[Any, str]] = [(value, pointer)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            yield SchemaProblem(where, "NaN and Infinity are not JSON numbers")
        elif isinstance(node, dict):
            stack.extend((item, f"{where}/{_escape(str(key))}") for key, item in node.items())
        elif isinstance(node, list):
            stack.extend((item, f"{where}/{index}") for index, item in enumerate(node))


def draft04_problems(schema: Any) -> list[SchemaProblem]:
    """Every reason ``schema`` is not an acceptable JSON Schema draft-04 document (empty when it is).

    Besides draft-04 itself: no later-draft keywords, no ``NaN``/``Infinity`` (JSON has neither: they
    would be stored as ``null``), and only same-document references that resolve without looping.
    """
    if not isinstance(schema, dict):
        return [SchemaProblem("", "a JSON Schema must be a JSON object")]
    problems = list(_non_finite(schema))
    if problems:
        return problems
    problems = list(_walk(schema, "", 0))
    if problems:
        return problems
    problems = reference_problems(schema)
    if problems:
        return problems
    try:
        Draft4Validator.check_schema(schema)
    except SchemaError as error:
        pointer = "".join(f"/{part}" for part in error.absolute_path)
        return [SchemaProblem(pointer, f"not valid draft-04: {error.message}")]
    if schema.get("type", "object") != "object":
        return [SchemaProblem("/type", "the event data schema must describe a JSON object ('type': 'object')")]
    return []


#: Where the data schema sits inside the envelope schema.
DATA_POINTER = "#/properties/data"


def _rebase_references(schema: Any, base: str) -> Any:
    """Point every same-document ``$ref`` of a data schema at the same place once it sits at ``base``.

    ``{"$ref": "#/definitions/money"}`` becomes ``{"$ref": "#/properties/data/definitions/money"}``:
    pasted as is, it would point into the envelope, where no such definition exists.
    """
    for _, subschema in _subschemas(schema):
        ref = subschema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            subschema["$ref"] = base + ref[1:]
    return schema


def envelope_schema(data_schema: dict[str, Any], event_type: str, version: int) -> dict[str, Any]:
    """The full schema of an event version: the user's ``data`` schema inside the broker envelope.

    ``metadata.event_attributes.source`` names the producing application and
    ``metadata.event_attributes.target`` the target unit consumers subscribe to.
    """
    data = _rebase_references(copy.deepcopy(data_schema), DATA_POINTER)
    data.pop("$schema", None)
    data.pop("id", None)
    return {
        "$schema": DRAFT04_URI,
        "title": f"{event_type} v{version}",
        "type": "object",
        "required": ["metadata", "data"],
        "additionalProperties": False,
        "properties": {
            "metadata": {
                "type": "object",
                "required": ["event_attributes"],
                "properties": {
                    "event_attributes": {
                        "type": "object",
                        "required": ["source", "target"],
                        "properties": {
                            "source": {"type": "string", "minLength": 1, "maxLength": 256},
                            "target": {"type": "string", "minLength": 1, "maxLength": 256},
                        },
                    }
                },
            },
            "data": data,
        },
    }


def data_field_paths(data_schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every property path declared by a data schema (nested objects included).

    Content filters of subscriptions may only name paths listed here.
    """
    paths: set[tuple[str, ...]] = set()
    for name, sub in (data_schema.get("properties") or {}).items():
        path = (*prefix, name)
        paths.add(path)
        if isinstance(sub, dict):
            paths |= data_field_paths(sub, path)
    return paths
