"""Field-level differences between two data schemas, for ``broker events diff``.

The portal's diff endpoint gives the compatibility verdict; the field list (added, removed, changed) is
what a person reads, and it is computed here from the two schemas the answer carries. Against a portal
without that endpoint the schemas come from the two versions and the verdict is the one recorded for
consecutive versions, else unknown (the catalog pages do the same in the browser).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

CONSTRAINTS = (
    "enum",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "uniqueItems",
    "multipleOf",
    "default",
)


@dataclass(frozen=True)
class Field:
    path: str
    type: str
    required: bool
    constraints: str


@dataclass(frozen=True)
class Change:
    kind: str  # added | removed | changed
    path: str
    detail: str


def _type(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(str(item) for item in kind)
    if kind:
        return str(kind)
    return "enum" if "enum" in schema else "any"


def fields(schema: Any, prefix: str = "", required: bool = True) -> dict[str, Field]:
    """One entry per field path: objects by property name (``a.b``), array items as ``a[]``."""
    found: dict[str, Field] = {}
    if not isinstance(schema, dict):
        return found
    if prefix:
        constraints = "; ".join(f"{key}: {json.dumps(schema[key])}" for key in CONSTRAINTS if key in schema)
        found[prefix] = Field(prefix, _type(schema), required, constraints)
    needed = set(schema.get("required") or [])
    for name, child in (schema.get("properties") or {}).items():
        found.update(fields(child, f"{prefix}.{name}" if prefix else name, name in needed))
    items = schema.get("items")
    if isinstance(items, dict):
        found.update(fields(items, f"{prefix or '(items)'}[]", True))
    return found


def field_changes(before_schema: Any, after_schema: Any) -> list[Change]:
    before = fields(before_schema)
    after = fields(after_schema)
    changes: list[Change] = []
    for path, new in after.items():
        old = before.get(path)
        if old is None:
            changes.append(Change("added", path, f"{new.type}, {'required' if new.required else 'optional'}"))
            continue
        what: list[str] = []
        if old.type != new.type:
            what.append(f"type {old.type} -> {new.type}")
        if old.required != new.required:
            what.append("now required" if new.required else "now optional")
        if old.constraints != new.constraints:
            what.append(f"constraints {old.constraints or 'none'} -> {new.constraints or 'none'}")
        if what:
            changes.append(Change("changed", path, "; ".join(what)))
    for path, old in before.items():
        if path not in after:
            changes.append(Change("removed", path, old.type + (", was required" if old.required else "")))
    return sorted(changes, key=lambda change: change.path)
