"""Schema registry adapters: EventBridge Schemas (``aws``) or nothing but the S3 backup (``local``).

Each event version is registered as its own schema named ``<event_type>.v<version>`` (type
``JSONSchemaDraft4``), so registering is idempotent and a version is never confused with the
registry's own auto-numbered versions. The S3 backup stays the source of truth: the registry can
always be rebuilt from it (``python -m chalicelib.manage rebuild-registry``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from botocore.exceptions import ClientError

from broker_contract.lazy_client import LazyClient

logger = logging.getLogger(__name__)

SCHEMA_TYPE = "JSONSchemaDraft4"


def registry_schema_name(event_type: str, version: int) -> str:
    """Name of one event version's schema in the registry."""
    return f"{event_type}.v{version}"


class SchemaRegistry(Protocol):
    """Where schema versions are published for discovery and code bindings."""

    def register(self, event_type: str, version: int, schema: dict[str, Any], description: str) -> None:
        """Create or update the schema of one event version (idempotent)."""
        ...

    def remove(self, event_type: str, version: int) -> None:
        """Delete the schema of one event version; nothing happens when it is absent."""
        ...


class EventBridgeSchemaRegistry(LazyClient):
    """The EventBridge Schemas API (``schemas`` client), registry name from the runtime configuration."""

    def __init__(self, registry_name: str, client_factory: Callable[[], Any]) -> None:
        self.registry_name = registry_name
        super().__init__(client_factory)

    def register(self, event_type: str, version: int, schema: dict[str, Any], description: str) -> None:
        arguments = {
            "RegistryName": self.registry_name,
            "SchemaName": registry_schema_name(event_type, version),
            "Type": SCHEMA_TYPE,
            "Content": json.dumps(schema, sort_keys=True),
            "Description": description[:256],
        }
        try:
            self.client.create_schema(**arguments)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConflictException":
                raise
            # Exists already (a retried or reconciled step): bring its content up to date.
            self.client.update_schema(**arguments)

    def remove(self, event_type: str, version: int) -> None:
        try:
            self.client.delete_schema(
                RegistryName=self.registry_name, SchemaName=registry_schema_name(event_type, version)
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NotFoundException":
                raise


class LocalSchemaRegistry:
    """Local mode (moto has no Schemas service): keeps schemas in memory; the S3 backup is what counts."""

    def __init__(self) -> None:
        self.schemas: dict[str, dict[str, Any]] = {}

    def register(self, event_type: str, version: int, schema: dict[str, Any], description: str) -> None:
        logger.debug("local registry: register %s v%s", event_type, version)
        self.schemas[registry_schema_name(event_type, version)] = schema

    def remove(self, event_type: str, version: int) -> None:
        self.schemas.pop(registry_schema_name(event_type, version), None)
