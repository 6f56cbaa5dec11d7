"""Backward compatibility of a new data schema against the previous version (pure).

A new version is backward compatible when consumers written against the previous version keep
working and producers of the previous shape are not refused. Each rule below names one way that
breaks; the report lists every occurrence with the JSON pointer where it happens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class CompatibilityReport:
    """``compatible`` is true when ``problems`` is empty."""

    problems: list[str] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not self.problems


def _types(schema: dict[str, Any]) -> set[str] | None:
    declared = schema.get("type")
    if declared is None:
        return None
    return {declared} if isinstance(declared, str) else set(declared)


def _allows_additional(schema: dict[str, Any]) -> bool:
    return schema.get("additionalProperties", True) is not False


_TIGHTER_IF_HIGHER = ("minimum", "minLength", "minItems", "minProperties")
_TIGHTER_IF_LOWER = ("maximum", "maxLength", "maxItems", "maxProperties")


def _compare(old: dict[str, Any], new: dict[str, Any], pointer: str, problems: list[str]) -> None:
    where = pointer or "/"
    old_types, new_types = _types(old), _types(new)
    if old_types is not None and (new_types is None or not old_types <= new_types):
        if new_types is not None:
            problems.append(f"type changed at {where}: {sorted(old_types)} -> {sorted(new_types)}")
    elif old_types is None and new_types is not None:
        problems.append(f"type restricted at {where}: now {sorted(new_types)}")
    if "enum" in new:
        old_values = old.get("enum")
        if old_values is None:
            problems.append(f"enum added at {where}: values are now restricted")
        else:
            removed = [value for value in old_values if value not in new["enum"]]
            if removed:
                problems.append(f"enum narrowed at {where}: {removed} no longer allowed")
    if _allows_additional(old) and not _allows_additional(new):
        problems.append(f"additionalProperties tightened at {where}: unknown fields are now refused")
    for keyword in _TIGHTER_IF_HIGHER:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            problems.append(f"{keyword} tightened at {where}: {old.get(keyword)} -> {new[keyword]}")
    for keyword in _TIGHTER_IF_LOWER:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            problems.append(f"{keyword} tightened at {where}: {old.get(keyword)} -> {new[keyword]}")
    if "pattern" in new and new.get("pattern") != old.get("pattern"):
        problems.append(f"pattern changed at {where}")
    if "format" in new and new.get("format") != old.get("format"):
        problems.append(f"format changed at {where}")
    old_required = set(old.get("required") or [])
    for name in sorted(set(new.get("required") or []) - old_required):
        problems.append(f"newly required field: {pointer}/{name}")
    old_properties: dict[str, Any] = old.get("properties") or {}
    new_properties: dict[str, Any] = new.get("properties") or {}
    for name in sorted(old_properties):
        if name not in new_properties:
            problems.append(f"field removed: {pointer}/{name}")
        elif isinstance(old_properties[name], dict) and isinstance(new_properties[name], dict):
            _compare(old_properties[name], new_properties[name], f"{pointer}/{name}", problems)
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, dict) and isinstance(new_items, dict):
        _compare(old_items, new_items, f"{pointer}/items", problems)
    elif old_items is None and isinstance(new_items, dict):
        _compare({}, new_items, f"{pointer}/items", problems)


def compare(previous: dict[str, Any], current: dict[str, Any]) -> CompatibilityReport:
    """Every reason ``current`` is not backward compatible with ``previous`` (data schemas)."""
    problems: list[str] = []
    _compare(previous, current, "", problems)
    return CompatibilityReport(problems)
