"""``/subscriptions`` through the Chalice test client over moto."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.test import Client
from chalicelib.services.backend import Backend

from broker_contract.dynamo_items import serialize
from broker_contract.models import ConsumerDeployment, DeploymentAction, DeploymentStatus
from broker_contract.names import deployment_file_key
from tests.functional.portal.conftest import (
    BILLING,
    LAMBDA_ARN,
    OTHER,
    SECRET_ARN,
    SHOP,
    SQS_ARN,
    body,
    create_event,
    s3_json,
    s3_keys,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("no_unhandled")

BASE = {
    "event_type": "order-created",
    "version": 1,
    "target_unit": "billing",
    "connection_type": "LAMBDA",
    "connection_string": LAMBDA_ARN,
}


def consumer_files(backend: Backend) -> list[ConsumerDeployment]:
    bucket = backend.config.consumer_bucket_name
    return [ConsumerDeployment.model_validate(s3_json(backend, bucket, key)) for key in s3_keys(backend, bucket)]


@pytest.fixture
def event(client: Client) -> Any:
    return create_event(client)


@pytest.mark.usefixtures("event")
def test_subscribe_lambda_writes_consumer_file(client: Client, backend: Backend) -> None:
    sub = subscribe(client, content_filter={"currency": ["EUR"], "customer": {"country": ["FR", "DE"]}})
    assert sub["subscription_id"].startswith("sub-")
    assert len(sub["subscription_id"]) == 20
    assert sub["team"] == "billing-team"
    key = deployment_file_key(f"consumer-{sub['subscription_id']}", 1, sub["deployment_id"])
    assert s3_keys(backend, backend.config.consumer_bucket_name) == [key]
    [deployment] = consumer_files(backend)
    assert deployment.action is DeploymentAction.DEPLOY
    assert deployment.subscription_id == sub["subscription_id"]
    assert deployment.event.application == "shop"
    assert deployment.event.version == 1
    assert deployment.target_unit == "billing"
    assert deployment.consumer.connection_type.value == "LAMBDA"
    assert deployment.content_filter == {"currency": ["EUR"], "customer": {"country": ["FR", "DE"]}}
    record = backend.deployments.get(sub["deployment_id"])
    assert record is not None
    assert (record.kind, record.subscription_id, record.status.value) == ("consumer", sub["subscription_id"], "pending")


@pytest.mark.usefixtures("event")
def test_version_may_be_a_numeric_string_and_sqs_target(client: Client, backend: Backend) -> None:
    sub = subscribe(client, version="1", connection_type="SQS", connection_string=SQS_ARN)
    assert sub["version"] == 1
    [deployment] = consumer_files(backend)
    assert str(deployment.consumer.connection_string) == SQS_ARN


@pytest.mark.usefixtures("event")
def test_https_subscription_with_secret_reference(client: Client, backend: Backend) -> None:
    auth = {"type": "API_KEY", "secret_arn": SECRET_ARN, "header_name": "x-api-key"}
    sub = subscribe(
        client, connection_type="HTTPS", connection_string="https://crm.example.com/hooks/orders", auth=auth
    )
    assert sub["auth"] == auth
    [deployment] = consumer_files(backend)
    assert deployment.consumer.model_dump(mode="json")["auth"] == auth


@pytest.mark.usefixtures("event")
def test_owner_may_subscribe_to_its_own_event(client: Client) -> None:
    sub = subscribe(client, headers=SHOP, target_unit="shop")
    assert sub["team"] == "shop-team"


@pytest.mark.usefixtures("event")
@pytest.mark.parametrize(
    ("overrides", "field", "rule_part"),
    [
        (
            {"connection_string": "arn:aws:lambda:eu-west-1:1111:function:x"},
            "connection_string",
            "must be a Lambda function ARN: arn:aws:lambda:<region>",
        ),
        ({"connection_type": "SQS", "connection_string": LAMBDA_ARN}, "connection_string", "should match"),
        ({"connection_type": "HTTPS", "connection_string": "http://crm.example.com/x"}, "connection_string", "https"),
        ({"connection_type": "HTTPS", "connection_string": "https://10.0.0.1/x"}, "connection_string", "public host"),
        ({"connection_type": "HTTPS", "connection_string": "not a url"}, "connection_string", "URL"),
        ({"auth": {"type": "BASIC", "secret_arn": SECRET_ARN}}, "auth", "only allowed with connection_type HTTPS"),
        (
            {
                "connection_type": "HTTPS",
                "connection_string": "https://crm.example.com",
                "auth": {"type": "API_KEY", "api_key": "plaintext"},
            },
            "auth.API_KEY.api_key",
            "Extra inputs",
        ),
        (
            {
                "connection_type": "HTTPS",
                "connection_string": "https://crm.example.com",
                "auth": {"type": "BASIC", "secret_arn": "arn:aws:s3:::bucket"},
            },
            "auth.BASIC.secret_arn",
            "should match",
        ),
        ({"version": True}, "version", "not a boolean"),
        ({"version": "1.5"}, "version", "digits only"),
        ({"version": 0}, "version", "greater than or equal to 1"),
        ({"target_unit": "Billing Unit"}, "target_unit", "should match pattern"),
        ({"connection_type": "EMAIL"}, "connection_type", "'LAMBDA', 'SQS' or 'HTTPS'"),
        ({"content_filter": {"unknown_field": ["x"]}}, "content_filter.unknown_field", "not a field"),
        ({"content_filter": {"customer": {"city": ["Paris"]}}}, "content_filter.customer.city", "not a field"),
        ({"content_filter": {"currency": "EUR"}}, "content_filter.currency", "non-empty list"),
        ({"content_filter": {}}, "content_filter", "non-empty object"),
        ({"colour": "red"}, "colour", "Extra inputs"),
        (
            {"connection_string": "arn:aws:lambda:us-east-1:111122223333:function:bill"},
            "connection_string",
            "must be in the broker's region eu-west-1",
        ),
        (
            {"connection_type": "SQS", "connection_string": "arn:aws:sqs:us-east-1:111122223333:orders"},
            "connection_string",
            "the queue must be in the broker's region",
        ),
    ],
)
def test_bad_subscription_input_is_400(
    client: Client, backend: Backend, overrides: dict[str, Any], field: str, rule_part: str
) -> None:
    response = client.http.post("/subscriptions", headers=BILLING, body=body({**BASE, **overrides}))
    assert response.status_code == 400, response.json_body
    details = response.json_body["error"]["details"]
    assert [detail for detail in details if detail["field"] == field and rule_part in detail["rule"]] != [], details
    assert s3_keys(backend, backend.config.consumer_bucket_name) == []


@pytest.mark.usefixtures("event")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"event_type": "nothing"}, "event type 'nothing' not found"),
        ({"version": 2}, "has no version 2"),
    ],
)
def test_unknown_event_or_version_is_404(client: Client, overrides: dict[str, Any], message: str) -> None:
    response = client.http.post("/subscriptions", headers=BILLING, body=body({**BASE, **overrides}))
    assert response.status_code == 404
    assert message in response.json_body["error"]["message"]


@pytest.mark.usefixtures("event")
def test_duplicate_subscription_is_409(client: Client, backend: Backend) -> None:
    first = subscribe(client)
    again = client.http.post("/subscriptions", headers=OTHER, body=body(BASE))
    assert again.status_code == 409
    assert first["subscription_id"] in again.json_body["error"]["message"]
    # another target unit is another subscription
    subscribe(client, target_unit="finance")
    assert len(consumer_files(backend)) == 2


@pytest.mark.usefixtures("event")
def test_list_returns_only_the_callers_subscriptions_paginated(client: Client) -> None:
    mine = [subscribe(client, target_unit=f"unit-{index}")["subscription_id"] for index in range(3)]
    subscribe(client, headers=OTHER, target_unit="other")
    first = client.http.get("/subscriptions?limit=2", headers=BILLING).json_body
    second = client.http.get(f"/subscriptions?limit=2&cursor={first['next_cursor']}", headers=BILLING).json_body
    listed = [item["subscription_id"] for item in first["items"] + second["items"]]
    assert sorted(listed) == sorted(mine)
    assert second["next_cursor"] is None
    assert client.http.get("/subscriptions?limit=500", headers=BILLING).status_code == 400


@pytest.mark.usefixtures("event")
def test_get_subscription_with_deployment_status_and_instructions(client: Client, backend: Backend) -> None:
    sub = subscribe(client)
    detail = client.http.get(f"/subscriptions/{sub['subscription_id']}", headers=BILLING).json_body
    assert (detail["deployment_status"], detail["instructions"], detail["error"]) == ("pending", None, None)
    # the generator moved it on
    record = backend.deployments.get(sub["deployment_id"])
    assert record is not None
    updated = record.model_copy(
        update={"status": DeploymentStatus.DEPLOYED, "instructions": "grant events.amazonaws.com invoke"}
    )
    backend.catalog.client.put_item(TableName=backend.config.catalog_table_name, Item=serialize(updated.to_item()))
    detail = client.http.get(f"/subscriptions/{sub['subscription_id']}", headers=BILLING).json_body
    assert (detail["deployment_status"], detail["instructions"]) == ("deployed", "grant events.amazonaws.com invoke")
    # the event owner may look; a third team may not
    assert client.http.get(f"/subscriptions/{sub['subscription_id']}", headers=SHOP).status_code == 200
    assert client.http.get(f"/subscriptions/{sub['subscription_id']}", headers=OTHER).status_code == 403


@pytest.mark.usefixtures("event")
def test_delete_subscription_only_by_its_team(client: Client, backend: Backend) -> None:
    sub = subscribe(client)
    path = f"/subscriptions/{sub['subscription_id']}"
    forbidden = client.http.delete(path, headers=SHOP)
    assert forbidden.status_code == 403
    deleted = client.http.delete(path, headers=BILLING)
    assert deleted.status_code == 200
    assert deleted.json_body["subscription_id"] == sub["subscription_id"]
    destroy = [item for item in consumer_files(backend) if item.action is DeploymentAction.DESTROY]
    assert [(item.deployment_id, item.sequence) for item in destroy] == [(deleted.json_body["deployment_id"], 2)]
    assert client.http.get(path, headers=BILLING).status_code == 404
    assert client.http.delete(path, headers=BILLING).status_code == 404
    versions = client.http.get("/events/order-created", headers=SHOP).json_body["versions"]
    assert versions[0]["subscription_count"] == 0
    # the same subscription may be made again once deleted
    subscribe(client)


@pytest.mark.parametrize("path", ["/subscriptions/sub-123", "/subscriptions/SUB-0000000000000000"])
def test_malformed_subscription_id_is_400(client: Client, path: str) -> None:
    assert client.http.get(path, headers=BILLING).status_code == 400
    assert client.http.delete(path, headers=BILLING).status_code == 400


def test_subscription_body_must_be_json(client: Client) -> None:
    response = client.http.post("/subscriptions", headers=BILLING, body="version=1")
    assert response.status_code == 400
    assert json.loads(response.body)["error"]["details"] == [{"field": "body", "rule": "must be valid JSON"}]
