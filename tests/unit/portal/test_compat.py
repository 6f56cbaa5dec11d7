"""The compatibility checker, direction by direction, on the changes the issue names (pure).

BACKWARD: the new schema accepts every instance valid under the old one (``includes(old, new)``).
FORWARD: the old schema accepts every instance valid under the new one (``includes(new, old)``).
"""

from __future__ import annotations

from typing import Any

import pytest
from chalicelib.services.compat import compare, includes


def obj(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **extra}


def directions(old: dict[str, Any], new: dict[str, Any]) -> tuple[bool | None, bool | None]:
    comparison = compare(old, new)
    return comparison.backward.compatible, comparison.forward.compatible


@pytest.mark.parametrize(
    ("old", "new", "backward", "forward"),
    [
        # narrowing an anyOf: old writers' integers are refused by the new schema
        (
            obj({"x": {"anyOf": [{"type": "string"}, {"type": "integer"}]}}),
            obj({"x": {"anyOf": [{"type": "string"}]}}),
            False,
            True,
        ),
        # a $ref'd definition changed from string to integer breaks both directions
        (
            {**obj({"x": {"$ref": "#/definitions/d"}}), "definitions": {"d": {"type": "string"}}},
            {**obj({"x": {"$ref": "#/definitions/d"}}), "definitions": {"d": {"type": "integer"}}},
            False,
            False,
        ),
        # a required field made optional: new writers may leave it out, old readers require it
        (obj({"a": {"type": "string"}}, required=["a"]), obj({"a": {"type": "string"}}), True, False),
        # number widened to number|string: old readers refuse strings
        (obj({"a": {"type": "number"}}), obj({"a": {"type": ["number", "string"]}}), True, False),
        # an optional typed field added to an open schema: old writers may have put anything there
        (obj({}), obj({"note": {"type": "string"}}), False, True),
        # the same on a closed schema: old writers never wrote it, old readers refuse it
        (
            obj({}, additionalProperties=False),
            obj({"note": {"type": "string"}}, additionalProperties=False),
            True,
            False,
        ),
        # additionalProperties as a schema
        (
            obj({}, additionalProperties={"type": "string"}),
            obj({}, additionalProperties={"type": "integer"}),
            False,
            False,
        ),
        (obj({}, additionalProperties={"type": "string"}), obj({}), True, False),
        # patternProperties with the same patterns
        (
            obj({}, patternProperties={"^x-": {"type": "string"}}),
            obj({}, patternProperties={"^x-": {"type": ["string", "null"]}}),
            True,
            False,
        ),
        # items as an array (tuple) and additionalItems
        (
            {
                "type": "object",
                "properties": {"p": {"type": "array", "items": [{"type": "string"}], "additionalItems": False}},
            },
            {
                "type": "object",
                "properties": {"p": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}},
            },
            True,
            False,
        ),
        # dependencies (property form)
        (obj({"a": {}, "b": {}}), obj({"a": {}, "b": {}}, dependencies={"a": ["b"]}), False, True),
        # exclusiveMinimum (draft-04 boolean form)
        (
            obj({"n": {"type": "number", "minimum": 0}}),
            obj({"n": {"type": "number", "minimum": 0, "exclusiveMinimum": True}}),
            False,
            True,
        ),
        # integers: minimum 0 exclusive is minimum 1 inclusive
        (
            obj({"n": {"type": "integer", "minimum": 0, "exclusiveMinimum": True}}),
            obj({"n": {"type": "integer", "minimum": 1}}),
            True,
            True,
        ),
        # multipleOf: multiples of 4 are multiples of 2
        (
            obj({"n": {"type": "integer", "multipleOf": 4}}),
            obj({"n": {"type": "integer", "multipleOf": 2}}),
            True,
            False,
        ),
        # uniqueItems
        (obj({"l": {"type": "array"}}), obj({"l": {"type": "array", "uniqueItems": True}}), False, True),
        # enum widened
        (obj({"k": {"enum": ["a", "b"]}}), obj({"k": {"enum": ["a", "b", "c"]}}), True, False),
        # type lists
        (obj({"k": {"type": ["string", "null"]}}), obj({"k": {"type": "string"}}), False, True),
        # allOf on the including side is every conjunct
        (
            obj({"k": {"type": "string", "maxLength": 3}}),
            obj({"k": {"allOf": [{"type": "string"}, {"maxLength": 5}]}}),
            True,
            False,
        ),
        # oneOf with branches of different types is decided like anyOf
        (obj({"k": {"type": "string"}}), obj({"k": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}), True, False),
    ],
)
def test_each_direction_is_decided(
    old: dict[str, Any], new: dict[str, Any], backward: bool | None, forward: bool | None
) -> None:
    assert directions(old, new) == (backward, forward)


def test_problems_name_the_pointer_and_what_breaks() -> None:
    old = obj(
        {"a": {"type": "number"}, "c": {"type": "object", "properties": {"d": {"type": "string"}}}}, required=["a"]
    )
    new = obj({"a": {"type": ["number", "string"]}, "c": {"type": "object", "properties": {"d": {"type": "integer"}}}})
    forward = compare(old, new).forward
    assert {problem.pointer for problem in forward.problems} == {
        "/properties/a/type",
        "/required",
        "/properties/c/properties/d/type",
    }
    assert all("valid under the new schema, refused by the earlier one" in p.message for p in forward.problems)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (obj({"s": {"type": "string", "pattern": "^a"}}), obj({"s": {"type": "string", "pattern": "^[ab]"}})),
        (
            obj({"s": {"type": "string"}}),
            obj({"s": {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "string", "minLength": 2}]}}),
        ),
        (obj({"n": {"type": "number", "multipleOf": 0.5}}), obj({"n": {"type": "number", "multipleOf": 0.25}})),
        (obj({"s": {"type": "string"}}), obj({"s": {"not": {"type": "string", "maxLength": 1}}})),
    ],
)
def test_what_it_cannot_decide_is_null_with_a_reason_never_compatible(old: dict[str, Any], new: dict[str, Any]) -> None:
    verdict = includes(old, new)
    assert verdict.compatible is None
    assert verdict.problems and all(problem.message.startswith("cannot decide") for problem in verdict.problems)


def test_recursive_schemas_compare_without_looping() -> None:
    tree = {
        "type": "object",
        "definitions": {
            "node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/definitions/node"}}},
            }
        },
        "properties": {"root": {"$ref": "#/definitions/node"}},
    }
    assert directions(tree, tree) == (True, True)
