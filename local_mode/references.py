"""Terraform references in synthesized cdktf JSON, and their resolution against what local mode created.

cdktf writes every cross-resource value as a Terraform interpolation: ``"${aws_sqs_queue.q_ABC.arn}"``,
possibly embedded in a larger string (a JSON redrive policy). Local mode creates the resources itself,
so it substitutes each reference with the attribute of the resource it created. Anything richer than a
plain attribute traversal (a function call, a conditional) is left unresolved and reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

#: ``${a.b.c}`` where the inside is a plain traversal (no function call, no operator)
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][\w-]*(?:\.[\w-]+)+)\}")
#: a resource traversal: ``aws_type.name.attribute`` (anything else is data/var/local)
_RESOURCE_TYPE = re.compile(r"^aws_[a-z0-9_]+$")

Lookup = Callable[[str], object]


class UnresolvedReferenceError(LookupError):
    """A value refers to something local mode did not create or cannot evaluate."""


def references(value: Any) -> Iterator[str]:
    """Every plain traversal (``type.name.attr``, ``data.x.y.z`` ...) appearing anywhere in ``value``."""
    if isinstance(value, str):
        for match in _INTERPOLATION.finditer(value):
            yield match.group(1)
    elif isinstance(value, dict):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def resource_address(reference: str) -> str | None:
    """``"aws_s3_bucket.b"`` for ``"aws_s3_bucket.b.arn"``; None for data sources, variables and locals."""
    parts = reference.split(".")
    if len(parts) >= 2 and _RESOURCE_TYPE.match(parts[0]):
        return f"{parts[0]}.{parts[1]}"
    return None


def resolve(value: Any, lookup: Lookup) -> Any:
    """``value`` with every reference replaced through ``lookup``; raises UnresolvedReferenceError.

    A string that is exactly one reference takes the referenced value as is (a number stays a number);
    references embedded in a longer string are substituted as text.
    """
    if isinstance(value, str):
        whole = _INTERPOLATION.fullmatch(value)
        if whole is not None:
            return lookup(whole.group(1))
        substituted = _INTERPOLATION.sub(lambda match: _as_text(lookup(match.group(1))), value)
        if "${" in substituted:
            raise UnresolvedReferenceError(f"expression local mode cannot evaluate: {value[:120]}")
        return substituted
    if isinstance(value, dict):
        return {key: resolve(item, lookup) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, lookup) for item in value]
    return value


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
