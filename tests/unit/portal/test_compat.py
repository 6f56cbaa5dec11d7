"""Backward-compatibility rules between two data schemas (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from chalicelib.services.compat import compare

BASE: dict[str, Any] = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "maxLength": 10},
        "kind": {"type": "string", "enum": ["a", "b"]},
        "lines": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
        "amount": {"type": "number"},
    },
}


def changed(**properties: Any) -> dict[str, Any]:
    return {**BASE, "properties": {**BASE["properties"], **properties}}


def test_identical_and_additive_changes_are_compatible() -> None:
    assert compare(BASE, BASE).compatible
    widened = changed(kind={"type": "string", "enum": ["a", "b", "c"]}, note={"type": "string"})
    report = compare(BASE, widened)
    assert (report.compatible, report.problems) == (True, [])
    assert compare(BASE, changed(amount={"type": ["number", "null"]})).compatible


@pytest.mark.parametrize(
    ("new", "problem"),
    [
        (
            {k: v for k, v in BASE.items() if k != "properties"} | {"properties": {"id": {"type": "string"}}},
            "field removed: /amount",
        ),
        ({**BASE, "required": ["id", "amount"]}, "newly required field: /amount"),
        (changed(amount={"type": "string"}), "type changed at /amount: ['number'] -> ['string']"),
        (changed(kind={"type": "string", "enum": ["a"]}), "enum narrowed at /kind: ['b'] no longer allowed"),
        (changed(amount={"type": "number", "enum": [1, 2]}), "enum added at /amount: values are now restricted"),
        (
            {**BASE, "additionalProperties": False},
            "additionalProperties tightened at /: unknown fields are now refused",
        ),
        (changed(id={"type": "string", "maxLength": 5}), "maxLength tightened at /id: 10 -> 5"),
        (changed(amount={"type": "number", "minimum": 0}), "minimum tightened at /amount: None -> 0"),
        (changed(id={"type": "string", "maxLength": 10, "pattern": "^x"}), "pattern changed at /id"),
        (
            changed(lines={"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "integer"}}}}),
            "type changed at /lines/items/sku: ['string'] -> ['integer']",
        ),
    ],
)
def test_each_breaking_change_is_reported(new: dict[str, Any], problem: str) -> None:
    report = compare(BASE, new)
    assert report.compatible is False
    assert problem in report.problems
