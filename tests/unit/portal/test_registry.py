"""The EventBridge Schemas adapter, against botocore's Stubber (no network)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from chalicelib.aws.registry import EventBridgeSchemaRegistry, LocalSchemaRegistry, SchemaRegistry

SCHEMA = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "object"}
EXPECTED = {
    "RegistryName": "dev-event-broker",
    "SchemaName": "order-created.v2",
    "Type": "JSONSchemaDraft4",
    "Content": json.dumps(SCHEMA, sort_keys=True),
    "Description": "Orders",
}


@pytest.fixture
def stubbed() -> tuple[EventBridgeSchemaRegistry, Stubber]:
    client = boto3.client("schemas", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    return EventBridgeSchemaRegistry("dev-event-broker", lambda: client), Stubber(client)


def test_register_creates_the_schema(stubbed: tuple[EventBridgeSchemaRegistry, Stubber]) -> None:
    registry, stubber = stubbed
    stubber.add_response("create_schema", {"SchemaName": "order-created.v2", "SchemaVersion": "1"}, EXPECTED)
    with stubber:
        registry.register("order-created", 2, SCHEMA, "Orders")
    stubber.assert_no_pending_responses()


def test_register_updates_when_the_schema_exists(stubbed: tuple[EventBridgeSchemaRegistry, Stubber]) -> None:
    registry, stubber = stubbed
    stubber.add_client_error("create_schema", "ConflictException", http_status_code=409, expected_params=EXPECTED)
    stubber.add_response("update_schema", {"SchemaName": "order-created.v2", "SchemaVersion": "2"}, EXPECTED)
    with stubber:
        registry.register("order-created", 2, SCHEMA, "Orders")
    stubber.assert_no_pending_responses()


def test_register_propagates_other_errors(stubbed: tuple[EventBridgeSchemaRegistry, Stubber]) -> None:
    registry, stubber = stubbed
    stubber.add_client_error("create_schema", "ForbiddenException", http_status_code=403)
    with stubber, pytest.raises(ClientError):
        registry.register("order-created", 2, SCHEMA, "Orders")


def test_remove_ignores_missing_schema(stubbed: tuple[EventBridgeSchemaRegistry, Stubber]) -> None:
    registry, stubber = stubbed
    names = {"RegistryName": "dev-event-broker", "SchemaName": "order-created.v2"}
    stubber.add_response("delete_schema", {}, names)
    stubber.add_client_error("delete_schema", "NotFoundException", http_status_code=404, expected_params=names)
    with stubber:
        registry.remove("order-created", 2)
        registry.remove("order-created", 2)
    stubber.assert_no_pending_responses()


def test_local_registry_keeps_schemas_in_memory() -> None:
    registry: SchemaRegistry = LocalSchemaRegistry()
    registry.register("order-created", 1, SCHEMA, "")
    assert registry.schemas == {"order-created.v1": SCHEMA}  # type: ignore[attr-defined]
    registry.remove("order-created", 1)
    registry.remove("order-created", 1)
    assert registry.schemas == {}  # type: ignore[attr-defined]
