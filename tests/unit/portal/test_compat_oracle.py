"""The compatibility checker against an oracle: instances generated from one schema, validated under the other.

Whenever the checker says a direction is compatible, no instance that ``hypothesis-jsonschema`` generates
from the schema that must be included may be refused by the other (``jsonschema``'s ``Draft4Validator``).
"""

from __future__ import annotations

from typing import Any

import pytest
from chalicelib.services.compat import includes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, Unsatisfiable
from hypothesis_jsonschema import from_schema
from jsonschema import Draft4Validator
from jsonschema.exceptions import SchemaError

NAMES = ["a", "b", "c"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "a", "ab", "x"]))


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    number = st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number", ["integer", "string"], ["number", "null"]])},
        optional={
            "minimum": st.integers(-3, 3),
            "maximum": st.integers(-3, 3),
            "exclusiveMinimum": st.booleans(),
            "exclusiveMaximum": st.booleans(),
            "multipleOf": st.sampled_from([1, 2, 3, 4]),
        },
    ).filter(lambda s: not ("exclusiveMinimum" in s and "minimum" not in s))
    number = number.filter(lambda s: not ("exclusiveMaximum" in s and "maximum" not in s))
    string = st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "minLength": st.integers(0, 3),
            "maxLength": st.integers(0, 3),
            "pattern": st.sampled_from(["^a", "^[ab]*$"]),
        },
    )
    enum = st.fixed_dictionaries({"enum": st.lists(SCALARS, min_size=1, max_size=4, unique_by=repr)})
    typed = st.fixed_dictionaries({"type": st.sampled_from(["null", "boolean", "string", "integer", "number"])})
    return st.one_of(number, string, enum, typed, st.just({}))


def _compound(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    obj = st.fixed_dictionaries(
        {"type": st.just("object")},
        optional={
            "properties": st.dictionaries(st.sampled_from(NAMES), children, max_size=3),
            "required": st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True),
            "additionalProperties": st.one_of(st.booleans(), children),
            "patternProperties": st.dictionaries(st.just("^x"), children, max_size=1),
            "dependencies": st.dictionaries(
                st.sampled_from(NAMES),
                st.one_of(st.lists(st.sampled_from(NAMES), min_size=1, unique=True), children),
                max_size=1,
            ),
            "maxProperties": st.integers(1, 3),
        },
    )
    array = st.fixed_dictionaries(
        {"type": st.just("array")},
        optional={
            "items": st.one_of(children, st.lists(children, min_size=1, max_size=2)),
            "additionalItems": st.one_of(st.booleans(), children),
            "maxItems": st.integers(0, 3),
            "minItems": st.integers(0, 2),
            "uniqueItems": st.booleans(),
        },
    )
    combined = st.one_of(
        st.fixed_dictionaries({"anyOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"oneOf": st.lists(children, min_size=1, max_size=3)}),
        st.fixed_dictionaries({"allOf": st.lists(children, min_size=1, max_size=2)}),
    )
    return st.one_of(obj, array, combined)


SCHEMAS = st.recursive(_leaf(), _compound, max_leaves=6)


def _with_definitions(schema: dict[str, Any]) -> dict[str, Any]:
    """Wrap a schema so it is reached through a ``$ref`` (definitions are rewritten by the checker's deref)."""
    return {"definitions": {"d": schema}, "type": "object", "properties": {"v": {"$ref": "#/definitions/d"}}}


def _instances(data: st.DataObject, schema: dict[str, Any], count: int) -> list[Any]:
    Draft4Validator.check_schema(schema)  # ours is valid: a SchemaError below is the generator's, not the input's
    strategy = from_schema(schema)
    found = []
    for _ in range(count):
        try:
            found.append(data.draw(strategy))
        except (Unsatisfiable, InvalidArgument):
            return found
        except SchemaError:
            # hypothesis-jsonschema merging resolved $refs can build an invalid draft-04 schema of its own
            # (e.g. ``"items": []``) and then refuses it: no instance, so nothing proven either way
            return found
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(old=SCHEMAS, new=SCHEMAS, wrap=st.booleans(), data=st.data())
def test_a_compatible_verdict_is_never_contradicted_by_a_generated_instance(
    old: dict[str, Any], new: dict[str, Any], wrap: bool, data: st.DataObject
) -> None:
    if wrap:
        old, new = _with_definitions(old), _with_definitions(new)
    for sub, sup in ((old, new), (new, old)):
        verdict = includes(sub, sup)
        if verdict.compatible is not True:
            continue
        validator = Draft4Validator(sup)
        for instance in _instances(data, sub, 5):
            if not Draft4Validator(sub).is_valid(instance):
                continue  # the generator's own approximation (rare): not an instance of sub, proves nothing
            assert validator.is_valid(instance), (sub, sup, instance)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(schema=SCHEMAS)
def test_a_schema_is_compatible_with_itself_or_undecided(schema: dict[str, Any]) -> None:
    assert includes(schema, schema).compatible is not False


@pytest.mark.parametrize("schema", [{"type": "integer", "minimum": 0}, {"anyOf": [{"type": "string"}, {"enum": [1]}]}])
def test_an_incompatible_verdict_has_a_witness(schema: dict[str, Any]) -> None:
    # the checker's "broken" claims in these simple cases are backed by an instance the oracle finds
    wider: dict[str, Any] = {}
    verdict = includes(wider, schema)
    assert verdict.compatible is False
    assert any(not Draft4Validator(schema).is_valid(value) for value in (-1, None, "a", 2.5, [], {}))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(old=_leaf(), new=_leaf(), data=st.data())
def test_scalar_verdicts_hold_against_the_oracle(old: dict[str, Any], new: dict[str, Any], data: st.DataObject) -> None:
    # scalars alone: bounds, exclusivity, multipleOf, lengths, patterns, enums and type lists meet more often
    for sub, sup in ((old, new), (new, old)):
        if includes(sub, sup).compatible is True:
            for instance in _instances(data, sub, 8):
                assert Draft4Validator(sup).is_valid(instance), (sub, sup, instance)
