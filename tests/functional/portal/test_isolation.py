"""Isolation between teams: declared targets only, no credentials in URLs, deployments and applications kept apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from app import app
from chalice.test import Client
from chalicelib import container
from chalicelib.records import EventRecord
from chalicelib.services.backend import Backend
from chalicelib.services.targets import TargetPolicy
from chalicelib.services.workflows import CONSUMER_ADAPTER
from chalicelib.settings import PortalSettings, RegistryMode

from broker_contract.dynamo_items import serialize
from broker_contract.teams import TeamDirectory, TeamPolicy
from local_mode.settings import LocalSettings
from tests.functional.portal.conftest import (
    BILLING,
    LAMBDA_ARN,
    OTHER,
    SECRET_ARN,
    SHOP,
    TEAMS,
    TOKENS,
    body,
    create_event,
    s3_keys,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("no_unhandled")
ROOT = Path(__file__).resolve().parents[3]

BILLING_ONLY = TeamPolicy(
    accounts=("111122223333",),
    lambda_functions=("bill-*",),
    sqs_queues=("billing-*",),
    secrets=("billing/*",),
    https_hosts=("hooks.billing.example.com",),
)


@pytest.fixture
def strict_client(backend: Backend) -> Any:
    """billing-team may target only its own resources; other-team declared nothing."""
    teams = TeamDirectory(teams={"billing-team": BILLING_ONLY, "shop-team": TEAMS.teams["shop-team"]})
    container.install(
        container.Services.over(backend, PortalSettings(tokens=TOKENS, registry_mode=RegistryMode.LOCAL, teams=teams))
    )
    with Client(app) as test_client:
        yield test_client
    container.reset()


def _post(client: Client, headers: dict[str, str], **overrides: Any) -> Any:
    payload = {
        "event_type": "order-created",
        "version": 1,
        "target_unit": "billing",
        "connection_type": "LAMBDA",
        "connection_string": LAMBDA_ARN,
        **overrides,
    }
    return client.http.post("/subscriptions", headers=headers, body=body(payload))


def _written(backend: Backend) -> list[str]:
    return s3_keys(backend, backend.config.consumer_bucket_name)


@pytest.mark.parametrize(
    ("overrides", "field", "rule_part"),
    [
        (
            {"connection_string": "arn:aws:lambda:eu-west-1:999988887777:function:bill-order"},
            "connection_string",
            "teams.billing-team.accounts",
        ),
        (
            {"connection_string": "arn:aws:lambda:eu-west-1:111122223333:function:payroll"},
            "connection_string",
            "teams.billing-team.lambda_functions",
        ),
        (
            {"connection_type": "SQS", "connection_string": "arn:aws:sqs:eu-west-1:111122223333:shop-orders"},
            "connection_string",
            "teams.billing-team.sqs_queues",
        ),
        (
            {"connection_type": "HTTPS", "connection_string": "https://evil.example.net/hook"},
            "connection_string",
            "teams.billing-team.https_hosts",
        ),
        (
            {
                "connection_type": "HTTPS",
                "connection_string": "https://hooks.billing.example.com/in",
                "auth": {"type": "API_KEY", "secret_arn": SECRET_ARN},
            },
            "auth.secret_arn",
            "teams.billing-team.secrets",
        ),
        (
            {
                "connection_type": "HTTPS",
                "connection_string": "https://hooks.billing.example.com/in",
                "auth": {
                    "type": "OAUTH_CLIENT_CREDENTIALS",
                    "secret_arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:billing/oauth-AbCdEf",
                    "token_url": "https://login.example.org/token",
                },
            },
            "auth.token_url",
            "teams.billing-team.https_hosts",
        ),
    ],
)
def test_targets_outside_the_declaration_are_403_naming_the_rule(
    strict_client: Client, backend: Backend, overrides: dict[str, Any], field: str, rule_part: str
) -> None:
    create_event(strict_client)
    response = _post(strict_client, BILLING, **overrides)
    assert response.status_code == 403, response.json_body
    error = response.json_body["error"]
    assert error["code"] == "forbidden"
    [detail] = error["details"]
    assert detail["field"] == field
    assert rule_part in detail["rule"]
    assert _written(backend) == []
    assert backend.catalog.subscriptions_of_event("order-created") == []


def test_declared_targets_are_accepted(strict_client: Client) -> None:
    create_event(strict_client)
    accepted = [
        _post(strict_client, BILLING),
        _post(
            strict_client,
            BILLING,
            connection_type="SQS",
            connection_string="arn:aws:sqs:eu-west-1:111122223333:billing-orders",
        ),
        _post(
            strict_client,
            BILLING,
            connection_type="HTTPS",
            connection_string="https://hooks.billing.example.com/in",
            auth={"type": "BASIC", "secret_arn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:billing/x-AbC"},
        ),
    ]
    assert [response.status_code for response in accepted] == [201, 201, 201], [r.json_body for r in accepted]


def test_a_team_without_declaration_is_told_how_to_declare(strict_client: Client, backend: Backend) -> None:
    create_event(strict_client)
    response = _post(strict_client, OTHER)
    assert response.status_code == 403
    message = response.json_body["error"]["message"]
    assert "team other-team declares no targets" in message
    assert "config/dev.json" in message and "BROKER_PORTAL_TEAMS_FILE" in message
    assert _written(backend) == []


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"connection_type": "HTTPS", "connection_string": "https://user:secret@hooks.example.com/in"},
            "connection_string",
        ),
        ({"connection_type": "HTTPS", "connection_string": "https://token@hooks.example.com/in"}, "connection_string"),
        (
            {
                "connection_type": "HTTPS",
                "connection_string": "https://hooks.example.com/in",
                "auth": {
                    "type": "OAUTH_CLIENT_CREDENTIALS",
                    "secret_arn": SECRET_ARN,
                    "token_url": "https://id:pw@login.example.com/token",
                },
            },
            "auth.OAUTH_CLIENT_CREDENTIALS.token_url",
        ),
    ],
)
def test_urls_with_credentials_are_400(client: Client, backend: Backend, overrides: dict[str, Any], field: str) -> None:
    create_event(client)
    response = _post(client, BILLING, **overrides)
    assert response.status_code == 400, response.json_body
    error = response.json_body["error"]
    assert "must not carry credentials" in error["message"]
    assert [detail["field"] for detail in error["details"]] == [field]
    assert "secret" not in json.dumps(backend.catalog.subscriptions_of_event("order-created"), default=str)
    assert _written(backend) == []


def test_reusing_a_deleted_event_name_gives_no_access_to_the_old_deployments(client: Client) -> None:
    old = create_event(client, event_type="order-created", headers=SHOP)
    old_path = f"/deployments/{old['deployment_id']}"
    deleted = client.http.delete("/events/order-created", headers=SHOP)
    assert deleted.status_code == 200, deleted.json_body
    teardown = f"/deployments/{deleted.json_body['deployment_ids'][0]}"
    create_event(client, event_type="order-created", headers=OTHER, application="others-app")
    for path in (old_path, f"{old_path}/terraform", teardown):
        assert client.http.get(path, headers=OTHER).status_code == 403, path
    # the team that asked for them keeps reading them
    assert client.http.get(old_path, headers=SHOP).status_code == 200
    assert client.http.get(teardown, headers=SHOP).status_code == 200


def test_deployments_recorded_before_owners_were_kept_follow_the_owner_of_that_time(
    client: Client, backend: Backend
) -> None:
    create_event(client, headers=SHOP)
    sub = subscribe(client)
    # a record written before deployments carried the event's owner
    record = backend.deployments.get(sub["deployment_id"])
    assert record is not None and record.event_owner == "shop-team"
    legacy = record.to_item()
    legacy.pop("event_owner")
    backend.catalog.client.put_item(TableName=backend.config.catalog_table_name, Item=serialize(legacy))
    assert client.http.get(f"/deployments/{sub['deployment_id']}", headers=SHOP).status_code == 200
    # the name now belongs to an event type created after the deployment: its owner may not read it
    event = backend.catalog.get_event("order-created")
    assert event is not None
    reborn = EventRecord.model_validate(
        {**event.model_dump(), "owner": "other-team", "created_at": "2999-01-01T00:00:00+00:00"}
    )
    backend.catalog.client.put_item(TableName=backend.config.catalog_table_name, Item=serialize(reborn.to_item()))
    assert client.http.get(f"/deployments/{sub['deployment_id']}", headers=OTHER).status_code == 403


def test_an_application_belongs_to_the_team_that_registered_it_first(client: Client, backend: Backend) -> None:
    create_event(client, event_type="order-created", application="webshop", headers=SHOP)
    response = client.http.post(
        "/events",
        headers=OTHER,
        body=body({"application": "webshop", "event_type": "fake-order", "connection_type": "SQS", "data": {}}),
    )
    assert response.status_code == 403, response.json_body
    [detail] = response.json_body["error"]["details"]
    assert detail["field"] == "application"
    assert "belongs to team shop-team" in detail["rule"]
    assert backend.catalog.get_event("fake-order") is None
    # the owner keeps registering under it, and the claim outlives its events
    create_event(client, event_type="order-paid", application="webshop", headers=SHOP)
    for event_type in ("order-created", "order-paid"):
        assert client.http.delete(f"/events/{event_type}", headers=SHOP).status_code == 200
    again = client.http.post(
        "/events",
        headers=OTHER,
        body=body({"application": "webshop", "event_type": "fake-order", "connection_type": "SQS", "data": {}}),
    )
    assert again.status_code == 403


def test_events_registered_before_claims_existed_hold_their_application(client: Client, backend: Backend) -> None:
    create_event(client, application="webshop", headers=SHOP)
    backend.catalog.client.delete_item(
        TableName=backend.config.catalog_table_name, Key=serialize({"pk": "APPLICATION#webshop", "sk": "OWNER"})
    )
    response = client.http.post(
        "/events",
        headers=OTHER,
        body=body({"application": "webshop", "event_type": "fake-order", "connection_type": "SQS", "data": {}}),
    )
    assert response.status_code == 403


def test_configuration_reserves_an_application(backend: Backend) -> None:
    teams = TeamDirectory(teams={"billing-team": TeamPolicy(applications=("billing",))})
    container.install(container.Services.over(backend, PortalSettings(tokens=TOKENS, teams=teams)))
    try:
        with Client(app) as test_client:
            payload = {"application": "billing", "event_type": "invoice-sent", "connection_type": "SQS", "data": {}}
            refused = test_client.http.post("/events", headers=SHOP, body=body(payload))
            assert refused.status_code == 403
            assert "teams.billing-team.applications" in refused.json_body["error"]["details"][0]["rule"]
            allowed = test_client.http.post("/events", headers=BILLING, body=body(payload))
            assert allowed.status_code == 201, allowed.json_body
    finally:
        container.reset()


def test_the_demo_teams_may_target_what_the_walkthrough_and_e2e_tests_use() -> None:
    directory = TeamDirectory.load(LocalSettings().team_targets_file)
    policy = TargetPolicy(directory, "local")
    for consumer in (
        {
            "connection_type": "LAMBDA",
            "connection_string": "arn:aws:lambda:eu-west-1:123456789012:function:billing-invoicer",
        },
        {"connection_type": "SQS", "connection_string": "arn:aws:sqs:eu-west-1:123456789012:billing-orders"},
        {"connection_type": "SQS", "connection_string": "arn:aws:sqs:eu-west-1:123456789012:e2e-billing-orders"},
        {"connection_type": "HTTPS", "connection_string": "https://billing.example.com/hooks/stock"},
    ):
        policy.check("billing-team", CONSUMER_ADAPTER.validate_python(consumer))
    assert directory.application_owner("webshop") == "shop-team"
