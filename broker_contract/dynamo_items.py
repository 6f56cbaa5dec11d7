"""DynamoDB attribute-value conversion shared by every adapter of the catalog table.

The portal's catalog repository and the deployment store both talk to the low-level client (typed
attribute values), so both convert with boto3's own ``TypeSerializer``/``TypeDeserializer`` through
these two functions; whole numbers come back as ``int`` rather than ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from broker_contract.records import plain_numbers

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """Document form -> DynamoDB attribute-value form (``None`` values are left out)."""
    return {key: _SERIALIZER.serialize(value) for key, value in item.items() if value is not None}


def deserialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB attribute-value form -> plain Python (ints for whole numbers)."""
    return {key: plain_numbers(_DESERIALIZER.deserialize(value)) for key, value in item.items()}
