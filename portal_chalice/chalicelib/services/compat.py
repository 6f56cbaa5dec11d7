"""Compatibility of two data schemas, one direction at a time (pure).

Definitions (instances are judged the way the producer endpoint judges them: ``Draft4Validator``,
so ``format`` is an annotation, as it is for API Gateway):

* ``includes(sub, sup)``: every instance valid under ``sub`` is valid under ``sup``.
* **BACKWARD** (new against old): ``includes(old, new)``: the new schema accepts everything old
  writers produce, so consumers moved to the new version still read old events.
* **FORWARD**: ``includes(new, old)``: everything new writers produce is still accepted by old
  readers (consumers of the previous version keep working).
* **FULL**: both. The ``*_TRANSITIVE`` modes check against every earlier version, not only the last.

A verdict is ``True`` only when inclusion is proven; ``False`` when a problem was found with an
instance to show for it (a type, value, bound or field one side allows and the other refuses);
``None`` ("cannot decide") when the schemas use something this checker cannot compare exactly
(different regular expressions, a ``oneOf`` with several branches of one type, ``not``, schema
dependencies, more than ``MAX_COMBINATIONS`` ``anyOf`` combinations, or more than ``MAX_STEPS``
comparisons). ``None`` is never counted as compatible.

Why hand-written: the libraries that decide JSON Schema inclusion target later drafts or Rust
(``jsoncompat``) and none reports JSON pointers per problem for draft-04; the property tests
prove the verdicts against ``hypothesis-jsonschema`` (instances of one schema validated under the
other) instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from itertools import product
from typing import Any

from jsonschema import Draft4Validator

from broker_contract.schemas import resolve_pointer

MAX_COMBINATIONS = 64
MAX_STEPS = 20_000

KINDS = ("null", "boolean", "integer", "fraction", "string", "array", "object")
_KINDS_OF_TYPE = {
    "null": {"null"},
    "boolean": {"boolean"},
    "integer": {"integer"},
    "number": {"integer", "fraction"},
    "string": {"string"},
    "array": {"array"},
    "object": {"object"},
}
_KIND_WORDS = {
    "null": "null",
    "boolean": "booleans",
    "integer": "integers",
    "fraction": "non-integer numbers",
    "string": "strings",
    "array": "arrays",
    "object": "objects",
}
#: keywords that never make an instance invalid
_ANNOTATIONS = {"title", "description", "default", "format", "$schema", "id", "definitions", "example"}
_KIND = "__kind__"
_FALSE: dict[str, Any] = {"enum": []}
_ANY: dict[str, Any] = {}
#: one object per kind, so that recursive comparisons meet the same pair again (see ``assumed``)
_ONLY = {kind: {_KIND: kind} for kind in KINDS}


class CompatibilityMode(StrEnum):
    """How a new version must relate to earlier ones (as in Confluent Schema Registry)."""

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"
    FULL = "FULL"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def backward(self) -> bool:
        return self in (self.BACKWARD, self.FULL, self.BACKWARD_TRANSITIVE, self.FULL_TRANSITIVE)

    @property
    def forward(self) -> bool:
        return self in (self.FORWARD, self.FULL, self.FORWARD_TRANSITIVE, self.FULL_TRANSITIVE)

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")


@dataclass(frozen=True)
class Problem:
    """Where (JSON pointer in the schema that must accept) and what; ``definite`` False means undecided."""

    pointer: str
    message: str
    definite: bool = True

    def to_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer or "/", "message": self.message}


@dataclass(frozen=True)
class Verdict:
    """One direction's answer: ``compatible`` True (proven), False (broken) or None (cannot decide)."""

    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def compatible(self) -> bool | None:
        if any(problem.definite for problem in self.problems):
            return False
        return None if self.problems else True

    def to_dict(self) -> dict[str, Any]:
        return {"compatible": self.compatible, "problems": [problem.to_dict() for problem in self.problems]}


class _TooComplex(Exception):
    pass


def _kinds_of_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "fraction"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _words(kinds: Iterable[str]) -> str:
    chosen = set(kinds)
    words = []
    for kind in KINDS:
        if kind == "integer" and {"integer", "fraction"} <= chosen:
            words.append("numbers")
        elif kind in chosen and not (kind == "fraction" and "integer" in chosen):
            words.append(_KIND_WORDS[kind])
    return ", ".join(words)


class _Side:
    """One schema document: dereferences its ``$ref``s and validates values against its subschemas."""

    def __init__(self, root: dict[str, Any], name: str) -> None:
        self.root = root
        self.name = name
        self._validator = Draft4Validator(root)

    def deref(self, schema: Any) -> dict[str, Any]:
        seen: set[str] = set()
        while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
            ref = schema["$ref"]
            if ref in seen:
                raise _TooComplex(f"'$ref' {ref!r} loops")
            seen.add(ref)
            try:
                schema = resolve_pointer(self.root, ref)
            except KeyError:
                raise _TooComplex(f"'$ref' {ref!r} cannot be resolved") from None
        if schema is False:
            return _FALSE
        if schema is True or not isinstance(schema, dict):
            return {}
        return schema

    def valid(self, schema: dict[str, Any], value: Any) -> bool:
        return bool(self._validator.evolve(schema=schema).is_valid(value))


def _kinds(schemas: Sequence[dict[str, Any]], side: _Side) -> set[str]:
    """Kinds an instance of all ``schemas`` may have (by ``type``, ``enum`` and combinators, approximately)."""
    kinds = set(KINDS)
    for raw in schemas:
        schema = side.deref(raw)
        if _KIND in schema:
            kinds &= {schema[_KIND]}
        declared = schema.get("type")
        if isinstance(declared, str):
            declared = [declared]
        if isinstance(declared, list):
            kinds &= set().union(*(_KINDS_OF_TYPE.get(name, set()) for name in declared))
        if isinstance(schema.get("enum"), list):
            kinds &= {_kinds_of_value(value) for value in schema["enum"]}
        for keyword in ("anyOf", "oneOf"):
            if isinstance(schema.get(keyword), list):
                kinds &= set().union(*(_kinds([branch], side) for branch in schema[keyword]))
        if isinstance(schema.get("allOf"), list):
            kinds &= _kinds(schema["allOf"], side)
    return kinds


def _universal(schema: dict[str, Any]) -> bool:
    return all(keyword in _ANNOTATIONS for keyword in schema)


def _is_false(schema: dict[str, Any]) -> bool:
    return isinstance(schema.get("enum"), list) and not schema["enum"]


def _show(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else repr(float(value))


def _number(value: Any) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return Fraction(value)


class _Checker:
    def __init__(self, sub_root: dict[str, Any], sup_root: dict[str, Any], sub_name: str, sup_name: str) -> None:
        self.sub = _Side(sub_root, sub_name)
        self.sup = _Side(sup_root, sup_name)
        self.steps = 0
        self.assumed: set[tuple[tuple[int, ...], int]] = set()

    # --- messages -----------------------------------------------------------------------------

    def broken(self, pointer: str, what: str) -> list[Problem]:
        return [Problem(pointer, f"{what}: valid under the {self.sub.name} schema, refused by the {self.sup.name} one")]

    @staticmethod
    def undecided(pointer: str, why: str) -> list[Problem]:
        return [Problem(pointer, f"cannot decide: {why}", definite=False)]

    # --- entry --------------------------------------------------------------------------------

    def includes(self, subs: Sequence[Any], sup: Any, pointer: str) -> list[Problem]:
        """Problems with "every instance valid under all ``subs`` is valid under ``sup``"."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise _TooComplex(f"the schemas need more than {MAX_STEPS} comparisons")
        sup_schema = self.sup.deref(sup)
        if _universal(sup_schema):
            return []
        flat_subs = [self.sub.deref(item) for item in subs]
        key = (tuple(id(item) for item in flat_subs), id(sup_schema))
        if key in self.assumed:
            # recursive schemas: assume the pair while comparing it (greatest fixed point; instances are finite)
            return []
        self.assumed.add(key)
        try:
            return self._includes(flat_subs, sup_schema, pointer)
        finally:
            self.assumed.discard(key)

    def _includes(self, subs: list[dict[str, Any]], sup: dict[str, Any], pointer: str) -> list[Problem]:
        branches, approximate = self._disjunctive(subs)
        problems: list[Problem] = []
        for conjuncts in branches:
            found = self._conjunction(conjuncts, sup, pointer)
            if approximate:
                # the branches over-approximate ``subs`` (overlapping oneOf, ignored 'not'): no definite claims
                found = [Problem(p.pointer, p.message, False) if p.definite else p for p in found]
            problems.extend(found)
        return problems

    def _disjunctive(self, subs: list[dict[str, Any]]) -> tuple[list[list[dict[str, Any]]], bool]:
        """``subs`` (a conjunction) as a disjunction of flat conjunctions: allOf flattened, anyOf/oneOf spread.

        The second value is true when the disjunction accepts more than ``subs`` (a oneOf whose branches
        overlap, a 'not' left out): compatibility proven over it still holds, problems may lack a witness.
        """
        flat: list[dict[str, Any]] = []
        choices: list[list[dict[str, Any]]] = []
        approximate = False
        pending = list(subs)
        while pending:
            schema = self.sub.deref(pending.pop())
            if isinstance(schema.get("allOf"), list):
                pending.extend(schema["allOf"])
            if "not" in schema:
                # 'not' narrows the instances but is ignored here: a problem found may not have a witness
                approximate = True
            for keyword in ("anyOf", "oneOf"):
                if isinstance(schema.get(keyword), list):
                    choices.append([self.sub.deref(branch) for branch in schema[keyword]])
                    if keyword == "oneOf":
                        # branches of pairwise different types never overlap: oneOf is then anyOf
                        kinds = [_kinds([branch], self.sub) for branch in schema[keyword]]
                        overlapping = sum(len(item) for item in kinds) != len(set().union(*kinds))
                        approximate = approximate or overlapping
            flat.append(schema)
        combinations = math.prod(len(choice) for choice in choices) if choices else 1
        if combinations > MAX_COMBINATIONS:
            raise _TooComplex(f"more than {MAX_COMBINATIONS} combinations of anyOf/oneOf branches")
        if not choices:
            return [flat], False
        result: list[list[dict[str, Any]]] = []
        for picked in product(*choices):
            branch_flat, branch_approximate = self._disjunctive(list(picked))
            approximate = approximate or branch_approximate
            result.extend([*flat, *conjunction] for conjunction in branch_flat)
        return result, approximate

    # --- one flat conjunction against one schema --------------------------------------------------

    def _conjunction(self, subs: list[dict[str, Any]], sup: dict[str, Any], pointer: str) -> list[Problem]:
        if any(_is_false(schema) for schema in subs):
            return []
        enums = [schema["enum"] for schema in subs if isinstance(schema.get("enum"), list)]
        if enums:
            return self._values(subs, enums[0], sup, pointer)
        sub_kinds = _kinds(subs, self.sub)
        if not sub_kinds:
            return []
        problems: list[Problem] = []
        for conjunct in sup.get("allOf") or []:
            problems += self.includes(subs, conjunct, pointer)
        for keyword in ("anyOf", "oneOf"):
            if isinstance(sup.get(keyword), list):
                problems += self._union(subs, sub_kinds, sup[keyword], keyword, f"{pointer}/{keyword}")
        if isinstance(sup.get("not"), dict):
            problems += self._disjoint(subs, sub_kinds, sup["not"], f"{pointer}/not")
        problems += self._flat(subs, sub_kinds, sup, pointer)
        return problems

    def _values(
        self, subs: list[dict[str, Any]], values: list[Any], sup: dict[str, Any], pointer: str
    ) -> list[Problem]:
        """Finite instance sets are decided exactly by validating each value on both sides."""
        problems: list[Problem] = []
        kinds = {schema[_KIND] for schema in subs if _KIND in schema}
        for value in values:
            if kinds and {_kinds_of_value(value)} != kinds:
                continue
            if all(self.sub.valid(schema, value) for schema in subs) and not self.sup.valid(sup, value):
                problems += self.broken(pointer, f"value {value!r}")
        return problems

    def _union(
        self, subs: list[dict[str, Any]], sub_kinds: set[str], branches: list[Any], keyword: str, pointer: str
    ) -> list[Problem]:
        problems: list[Problem] = []
        for kind in sorted(sub_kinds, key=KINDS.index):
            restricted = [*subs, _ONLY[kind]]
            applicable = [
                (index, branch) for index, branch in enumerate(branches) if kind in _kinds([branch], self.sup)
            ]
            if not applicable:
                problems += self.broken(pointer, f"{_KIND_WORDS[kind]} (no branch of {keyword} accepts them)")
                continue
            if len(applicable) == 1:
                index, branch = applicable[0]
                problems += self.includes(restricted, branch, f"{pointer}/{index}")
                continue
            if keyword == "oneOf":
                problems += self.undecided(pointer, f"several oneOf branches accept {_KIND_WORDS[kind]}")
                continue
            if not any(not self.includes(restricted, branch, f"{pointer}/{index}") for index, branch in applicable):
                problems += self.undecided(pointer, f"no single anyOf branch accepts all {_KIND_WORDS[kind]}")
        return problems

    def _disjoint(self, subs: list[dict[str, Any]], sub_kinds: set[str], negated: Any, pointer: str) -> list[Problem]:
        if not sub_kinds & _kinds([negated], self.sup):
            return []
        if not self.includes(subs, negated, pointer):
            return self.broken(pointer, "every instance (now excluded by 'not')")
        return self.undecided(pointer, "'not' excludes instances that may overlap")

    # --- keyword by keyword -------------------------------------------------------------------

    def _flat(
        self, subs: list[dict[str, Any]], sub_kinds: set[str], sup: dict[str, Any], pointer: str
    ) -> list[Problem]:
        problems: list[Problem] = []
        sup_kinds = _kinds([{key: value for key, value in sup.items() if key in ("type", _KIND)}], self.sup)
        lost = sub_kinds - sup_kinds
        if lost:
            problems += self.broken(f"{pointer}/type", _words(lost))
        kinds = sub_kinds & sup_kinds
        if isinstance(sup.get("enum"), list):
            if kinds <= {"null", "boolean"}:
                candidates: list[Any] = [None] if "null" in kinds else []
                candidates += [True, False] if "boolean" in kinds else []
                return problems + self._values(subs, candidates, sup, f"{pointer}/enum")
            return problems + self.broken(f"{pointer}/enum", f"{_words(kinds)} outside the enum {sup['enum']!r}")
        if kinds & {"integer", "fraction"}:
            problems += self._numbers(subs, kinds, sup, pointer)
        if "string" in kinds:
            problems += self._strings(subs, sup, pointer)
        if "array" in kinds:
            problems += self._arrays(subs, sup, pointer)
        if "object" in kinds:
            problems += self._objects(subs, sup, pointer)
        return problems

    @staticmethod
    def _bound(
        subs: list[dict[str, Any]], keyword: str, exclusive_keyword: str, lower: bool
    ) -> tuple[Fraction, bool] | None:
        best: tuple[Fraction, bool] | None = None
        for schema in subs:
            value = _number(schema.get(keyword))
            if value is None:
                continue
            candidate = (value, bool(schema.get(exclusive_keyword, False)))
            if best is None:
                best = candidate
            elif lower:
                best = max(best, candidate, key=lambda item: (item[0], item[1]))
            else:
                best = min(best, candidate, key=lambda item: (item[0], not item[1]))
        return best

    @staticmethod
    def _integer_bound(bound: tuple[Fraction, bool], lower: bool) -> int:
        value, exclusive = bound
        if lower:
            return math.floor(value) + 1 if exclusive and value.denominator == 1 else math.ceil(value)
        return math.ceil(value) - 1 if exclusive and value.denominator == 1 else math.floor(value)

    def _numbers(self, subs: list[dict[str, Any]], kinds: set[str], sup: dict[str, Any], pointer: str) -> list[Problem]:
        problems: list[Problem] = []
        only_integers = kinds & {"integer", "fraction"} == {"integer"}
        for keyword, exclusive, lower in (
            ("minimum", "exclusiveMinimum", True),
            ("maximum", "exclusiveMaximum", False),
        ):
            wanted = self._bound([sup], keyword, exclusive, lower)
            if wanted is None:
                continue
            have = self._bound(subs, keyword, exclusive, lower)
            words = "below" if lower else "above"
            if have is None:
                problems += self.broken(f"{pointer}/{keyword}", f"numbers {words} {_show(wanted[0])}")
                continue
            if only_integers:
                ok = (
                    self._integer_bound(have, lower) >= self._integer_bound(wanted, lower)
                    if lower
                    else self._integer_bound(have, lower) <= self._integer_bound(wanted, lower)
                )
            elif have[0] != wanted[0]:
                ok = have[0] > wanted[0] if lower else have[0] < wanted[0]
            else:
                ok = have[1] or not wanted[1]
            if not ok:
                problems += self.broken(
                    f"{pointer}/{keyword}",
                    f"numbers {words} the {keyword} {_show(wanted[0])} (or equal, if exclusive)",
                )
        return problems + self._multiples(subs, only_integers, sup, pointer)

    def _multiples(
        self, subs: list[dict[str, Any]], only_integers: bool, sup: dict[str, Any], pointer: str
    ) -> list[Problem]:
        step = _number(sup.get("multipleOf"))
        if step is None or step <= 0:
            return []
        steps = [_number(schema.get("multipleOf")) for schema in subs]
        if only_integers and (1 / step).denominator == 1:
            return []
        if any(have is not None and have == step for have in steps):
            return []
        if step.denominator != 1 or isinstance(sup.get("multipleOf"), float):
            return self.undecided(f"{pointer}/multipleOf", "fractional multipleOf is checked in floating point")
        if any(have is not None and have.denominator == 1 and (have / step).denominator == 1 for have in steps):
            return []
        return self.broken(f"{pointer}/multipleOf", f"numbers that are not multiples of {sup['multipleOf']}")

    def _lengths(
        self, subs: list[dict[str, Any]], sup: dict[str, Any], pointer: str, *, low: str, high: str, what: str
    ) -> list[Problem]:
        problems: list[Problem] = []
        if isinstance(sup.get(low), int):
            have = max((schema[low] for schema in subs if isinstance(schema.get(low), int)), default=0)
            if have < sup[low]:
                problems += self.broken(f"{pointer}/{low}", f"{what} shorter than {sup[low]}")
        if isinstance(sup.get(high), int):
            highs = [schema[high] for schema in subs if isinstance(schema.get(high), int)]
            if not highs or min(highs) > sup[high]:
                problems += self.broken(f"{pointer}/{high}", f"{what} longer than {sup[high]}")
        return problems

    def _strings(self, subs: list[dict[str, Any]], sup: dict[str, Any], pointer: str) -> list[Problem]:
        problems = self._lengths(subs, sup, pointer, low="minLength", high="maxLength", what="strings")
        pattern = sup.get("pattern")
        if isinstance(pattern, str):
            patterns = [schema["pattern"] for schema in subs if isinstance(schema.get("pattern"), str)]
            if pattern in patterns:
                pass
            elif not patterns:
                problems += self.broken(f"{pointer}/pattern", f"strings not matching {pattern!r}")
            else:
                problems += self.undecided(f"{pointer}/pattern", f"pattern changed to {pattern!r}")
        return problems

    # --- arrays -------------------------------------------------------------------------------

    @staticmethod
    def _item(schema: dict[str, Any], index: int | None) -> Any:
        """The schema ``schema`` gives to item ``index`` (``None``: items after every tuple position)."""
        items = schema.get("items", {})
        if isinstance(items, dict):
            return items
        if isinstance(items, list):
            if index is not None and index < len(items):
                return items[index]
            additional = schema.get("additionalItems", {})
            if additional is False:
                return _FALSE
            return additional if isinstance(additional, dict) else {}
        return {}

    @staticmethod
    def _max_items(schemas: list[dict[str, Any]]) -> int | None:
        limits = [schema["maxItems"] for schema in schemas if isinstance(schema.get("maxItems"), int)]
        for schema in schemas:
            if isinstance(schema.get("items"), list) and schema.get("additionalItems") is False:
                limits.append(len(schema["items"]))
        return min(limits) if limits else None

    def _arrays(self, subs: list[dict[str, Any]], sup: dict[str, Any], pointer: str) -> list[Problem]:
        problems = self._lengths(subs, sup, pointer, low="minItems", high="maxItems", what="arrays")
        longest = self._max_items(subs)
        unique = any(schema.get("uniqueItems") is True for schema in subs)
        if sup.get("uniqueItems") is True and not unique and (longest is None or longest > 1):
            problems += self.broken(f"{pointer}/uniqueItems", "arrays with repeated items")
        tuples = [len(schema["items"]) for schema in [*subs, sup] if isinstance(schema.get("items"), list)]
        positions = max(tuples, default=0)
        for index in range(positions):
            if longest is not None and index >= longest:
                break
            where = f"{pointer}/items/{index}" if isinstance(sup.get("items"), list) else f"{pointer}/items"
            problems += self.includes([self._item(schema, index) for schema in subs], self._item(sup, index), where)
        if longest is None or longest > positions:
            rest = self._item(sup, None)
            where = f"{pointer}/additionalItems" if isinstance(sup.get("items"), list) else f"{pointer}/items"
            problems += self.includes([self._item(schema, None) for schema in subs], rest, where)
        return problems

    # --- objects ------------------------------------------------------------------------------

    @staticmethod
    def _matches(pattern: str, name: str) -> bool:
        try:
            return re.search(pattern, name) is not None
        except re.error:
            raise _TooComplex(f"patternProperties regex {pattern!r} is not supported") from None

    def _for_name(self, schema: dict[str, Any], name: str) -> list[Any]:
        """The schemas ``schema`` applies to property ``name`` (empty: unconstrained)."""
        applied: list[Any] = []
        properties = schema.get("properties") or {}
        if name in properties:
            applied.append(properties[name])
        for pattern, sub in (schema.get("patternProperties") or {}).items():
            if self._matches(pattern, name):
                applied.append(sub)
        if not applied:
            additional = schema.get("additionalProperties", {})
            if additional is False:
                applied.append(_FALSE)
            elif isinstance(additional, dict):
                applied.append(additional)
        return applied

    def _objects(self, subs: list[dict[str, Any]], sup: dict[str, Any], pointer: str) -> list[Problem]:
        problems = self._lengths(subs, sup, pointer, low="minProperties", high="maxProperties", what="objects")
        required = {name for schema in subs for name in schema.get("required") or []}
        names = sorted(
            {name for schema in [*subs, sup] for name in schema.get("properties") or {}}
            | set(sup.get("required") or [])
        )
        absent: set[str] = set()
        for name in names:
            sub_schemas = [item for schema in subs for item in self._for_name(schema, name)]
            if any(_is_false(self.sub.deref(item)) for item in sub_schemas):
                absent.add(name)
                continue
            for sup_schema in self._for_name(sup, name):
                problems += self.includes(sub_schemas or [_ANY], sup_schema, f"{pointer}/properties/{name}")
        for name in sup.get("required") or []:
            if name not in required and name not in absent:
                problems += self.broken(f"{pointer}/required", f"objects without the field {name!r}")
        problems += self._other_names(subs, sup, pointer)
        problems += self._dependencies(subs, sup, required, absent, pointer)
        return problems

    def _other_names(self, subs: list[dict[str, Any]], sup: dict[str, Any], pointer: str) -> list[Problem]:
        """Names no ``properties`` declares: ``additionalProperties`` and ``patternProperties`` on both sides."""
        sup_patterns: dict[str, Any] = sup.get("patternProperties") or {}
        sup_additional = sup.get("additionalProperties", {})
        sup_rest: Any = (
            _FALSE if sup_additional is False else (sup_additional if isinstance(sup_additional, dict) else {})
        )
        if not sup_patterns and _universal(self.sup.deref(sup_rest)):
            return []

        def rest_of(schema: dict[str, Any]) -> tuple[dict[str, Any], Any]:
            additional = schema.get("additionalProperties", {})
            rest = _FALSE if additional is False else (additional if isinstance(additional, dict) else {})
            return schema.get("patternProperties") or {}, rest

        attempts: list[list[Problem]] = []
        for schema in subs:
            patterns, rest = rest_of(schema)
            found: list[Problem] = []
            same_patterns = set(patterns) == set(sup_patterns)
            if same_patterns:
                for pattern, sub in patterns.items():
                    found += self.includes([sub], sup_patterns[pattern], f"{pointer}/patternProperties")
                found += self.includes([rest], sup_rest, f"{pointer}/additionalProperties")
            else:
                targets = [*sup_patterns.values(), sup_rest]
                for target in targets:
                    for sub in [*patterns.values(), rest]:
                        found += [
                            Problem(p.pointer, p.message, False)
                            for p in self.includes([sub], target, f"{pointer}/additionalProperties")
                        ]
            if not found:
                return []
            attempts.append(found)
        if not attempts:
            return self.broken(f"{pointer}/additionalProperties", "objects with fields it does not declare")
        return attempts[0] if len(attempts) == 1 else self.undecided(pointer, "undeclared fields under allOf")

    def _dependencies(
        self, subs: list[dict[str, Any]], sup: dict[str, Any], required: set[str], absent: set[str], pointer: str
    ) -> list[Problem]:
        problems: list[Problem] = []
        for name, dependency in (sup.get("dependencies") or {}).items():
            if name in absent:
                continue
            where = f"{pointer}/dependencies/{name}"
            sub_dependencies = [schema.get("dependencies", {}).get(name) for schema in subs]
            if isinstance(dependency, list):
                listed = {item for dep in sub_dependencies if isinstance(dep, list) for item in dep}
                missing = [item for item in dependency if item not in required and item not in listed]
                if missing:
                    problems += self.broken(where, f"objects with {name!r} but without {missing!r}")
                continue
            if not self.includes(subs, dependency, where):
                continue
            extra = [dep for dep in sub_dependencies if isinstance(dep, dict)]
            if extra and not self.includes([*subs, *extra], dependency, where):
                continue
            problems += self.undecided(where, f"a schema that applies when {name!r} is present")
        return problems


def includes(sub: dict[str, Any], sup: dict[str, Any], sub_name: str = "old", sup_name: str = "new") -> Verdict:
    """Whether every instance valid under ``sub`` is valid under ``sup`` (data schemas, draft-04)."""
    checker = _Checker(sub, sup, sub_name, sup_name)
    try:
        problems = checker.includes([sub], sup, "")
    except _TooComplex as reason:
        problems = [Problem("", f"cannot decide: {reason}", definite=False)]
    except RecursionError:
        problems = [Problem("", "cannot decide: the schemas nest too deeply to compare", definite=False)]
    unique: dict[tuple[str, str], Problem] = {}
    for problem in problems:
        unique.setdefault((problem.pointer, problem.message), problem)
    return Verdict(tuple(unique.values()))


@dataclass(frozen=True)
class Comparison:
    """Both directions between an earlier and a later schema."""

    backward: Verdict
    forward: Verdict


def compare(earlier: dict[str, Any], later: dict[str, Any]) -> Comparison:
    """BACKWARD (later reads everything earlier writers produce) and FORWARD (earlier readers accept the later)."""
    return Comparison(
        backward=includes(earlier, later, "earlier", "new"),
        forward=includes(later, earlier, "new", "earlier"),
    )
