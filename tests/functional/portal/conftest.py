"""Portal fixtures: moto-backed catalog and buckets, installed services, a Chalice test client."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

os.environ.setdefault("BROKER_PORTAL_AUTH", "token")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")

from app import app
from chalice.test import Client
from chalicelib import container
from chalicelib.aws.catalog import CatalogRepository
from chalicelib.aws.dead_letters import DeadLetterQueues
from chalicelib.aws.registry import LocalSchemaRegistry
from chalicelib.aws.replays import EventReplays
from chalicelib.aws.storage import ObjectStorage
from chalicelib.services.backend import Backend
from chalicelib.settings import PortalSettings, RegistryMode
from moto import mock_aws

from broker_contract.teams import TeamDirectory, TeamPolicy
from tests.support.portal_wiring import create_buckets, create_catalog_table, runtime_config

TOKENS = {"tok-shop": "shop-team", "tok-billing": "billing-team", "tok-other": "other-team"}
SHOP = {"Authorization": "Bearer tok-shop", "Content-Type": "application/json"}
BILLING = {"Authorization": "Bearer tok-billing", "Content-Type": "application/json"}
OTHER = {"Authorization": "Bearer tok-other", "Content-Type": "application/json"}

ORDER_DATA: dict[str, Any] = {
    "type": "object",
    "required": ["order_id", "amount"],
    "properties": {
        "order_id": {"type": "string", "minLength": 1},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
        "customer": {"type": "object", "properties": {"country": {"type": "string"}}},
    },
}
#: every test team may target its own account 111122223333 (and hosts under example.com); see test_targets.py
#: for what a declaration refuses
TEST_TARGETS = TeamPolicy(
    accounts=("111122223333",),
    lambda_functions=("*",),
    sqs_queues=("*",),
    secrets=("*",),
    https_hosts=("*.example.com",),
)
TEAMS = TeamDirectory(teams={team: TEST_TARGETS for team in ("shop-team", "billing-team", "other-team")})
LAMBDA_ARN = "arn:aws:lambda:eu-west-1:111122223333:function:bill-order"
SQS_ARN = "arn:aws:sqs:eu-west-1:111122223333:warehouse-orders"
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:crm-api-key-AbCdEf"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def backend(aws: None) -> Backend:
    config = runtime_config()
    dynamodb = boto3.client("dynamodb", region_name=config.region)
    s3 = boto3.client("s3", region_name=config.region)
    events = boto3.client("events", region_name=config.region)
    sqs = boto3.client("sqs", region_name=config.region)
    create_catalog_table(dynamodb, config.catalog_table_name)
    create_buckets(s3, config)
    return Backend(
        config=config,
        catalog=CatalogRepository(config.catalog_table_name, lambda: dynamodb),
        storage=ObjectStorage(lambda: s3),
        registry=LocalSchemaRegistry(),
        replays=EventReplays(lambda: events),
        dead_letters=DeadLetterQueues(lambda: sqs),
    )


@pytest.fixture
def services(backend: Backend) -> Iterator[container.Services]:
    settings = PortalSettings(tokens=TOKENS, registry_mode=RegistryMode.LOCAL, teams=TEAMS)
    built = container.Services.over(backend, settings)
    container.install(built)
    yield built
    container.reset()


@pytest.fixture
def client(services: container.Services) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


@pytest.fixture
def bare_client() -> Iterator[Client]:
    """A client whose services would fail on any AWS call: for checks that must stop before AWS."""

    def no_aws() -> Any:
        raise AssertionError("this request must not reach AWS")

    config = runtime_config()
    backend = Backend(
        config=config,
        catalog=CatalogRepository(config.catalog_table_name, no_aws),
        storage=ObjectStorage(no_aws),
        registry=LocalSchemaRegistry(),
    )
    container.install(container.Services.over(backend, PortalSettings(tokens=TOKENS, teams=TEAMS)))
    with Client(app) as test_client:
        yield test_client
    container.reset()


@pytest.fixture
def no_unhandled(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fails the test if any request ended in the 500 middleware."""
    caplog.set_level(logging.ERROR, logger="chalicelib.unhandled")
    yield
    assert [record.getMessage() for record in caplog.records if record.name == "chalicelib.unhandled"] == []


def body(payload: Any) -> str:
    return json.dumps(payload)


def create_event(
    client: Client, event_type: str = "order-created", headers: dict[str, str] = SHOP, **overrides: Any
) -> Any:
    payload = {
        "application": "shop",
        "event_type": event_type,
        "description": "An order was placed",
        "connection_type": "HTTPS",
        "data": ORDER_DATA,
        **overrides,
    }
    response = client.http.post("/events", headers=headers, body=body(payload))
    assert response.status_code == 201, response.json_body
    return response.json_body


def subscribe(client: Client, headers: dict[str, str] = BILLING, **overrides: Any) -> Any:
    payload = {
        "event_type": "order-created",
        "version": 1,
        "target_unit": "billing",
        "connection_type": "LAMBDA",
        "connection_string": LAMBDA_ARN,
        **overrides,
    }
    response = client.http.post("/subscriptions", headers=headers, body=body(payload))
    assert response.status_code == 201, response.json_body
    return response.json_body


def s3_json(backend: Backend, bucket: str, key: str) -> Any:
    return backend.storage.get_json(bucket, key)


def s3_keys(backend: Backend, bucket: str) -> list[str]:
    return sorted(backend.storage.keys(bucket, ""))
