"""Self-service endpoints: who consumes my event, try before you send, PATCH, replays and dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice.test import Client
from chalicelib.services.backend import Backend

from broker_contract.models import ConsumerDeployment
from tests.functional.portal.conftest import (
    BILLING,
    OTHER,
    SHOP,
    SQS_ARN,
    body,
    create_event,
    s3_json,
    s3_keys,
    subscribe,
)

SAMPLE: dict[str, Any] = {
    "metadata": {"event_attributes": {"source": "shop", "target": "billing"}},
    "data": {"order_id": "o-1", "amount": 250, "currency": "EUR"},
}


def consumer_files(backend: Backend) -> list[ConsumerDeployment]:
    bucket = backend.config.consumer_bucket_name
    return [ConsumerDeployment.model_validate(s3_json(backend, bucket, key)) for key in s3_keys(backend, bucket)]


@pytest.fixture
def event(client: Client) -> Any:
    return create_event(client)


# --- who consumes my event -----------------------------------------------------------------------


@pytest.mark.usefixtures("event")
def test_the_owner_lists_the_consumers_of_its_event_page_by_page(client: Client) -> None:
    first = subscribe(client)
    second = subscribe(client, headers=OTHER, target_unit="audit", connection_type="SQS", connection_string=SQS_ARN)
    page = client.http.get("/events/order-created/subscriptions?limit=1", headers=SHOP).json_body
    assert page["items"] == [
        {
            "subscription_id": page["items"][0]["subscription_id"],
            "team": page["items"][0]["team"],
            "connection_type": page["items"][0]["connection_type"],
            "target_unit": page["items"][0]["target_unit"],
            "version": 1,
            "status": "active",
            "deployment_id": page["items"][0]["deployment_id"],
            "deployment_status": "pending",
        }
    ]
    rest = client.http.get(f"/events/order-created/subscriptions?limit=1&cursor={page['next_cursor']}", headers=SHOP)
    listed = {item["subscription_id"]: item for item in page["items"] + rest.json_body["items"]}
    assert listed.keys() == {first["subscription_id"], second["subscription_id"]}
    assert (listed[second["subscription_id"]]["team"], listed[second["subscription_id"]]["connection_type"]) == (
        "other-team",
        "SQS",
    )
    assert "connection_string" not in listed[first["subscription_id"]]


@pytest.mark.usefixtures("event")
def test_only_the_owner_sees_the_consumers(client: Client) -> None:
    refused = client.http.get("/events/order-created/subscriptions", headers=BILLING)
    assert (refused.status_code, refused.json_body["error"]["code"]) == (403, "forbidden")
    assert client.http.get("/events/nothing/subscriptions", headers=SHOP).status_code == 404
    wrong = client.http.get("/events/order-created/subscriptions?cursor=abc", headers=SHOP)
    assert wrong.status_code == 400


# --- try before you send ---------------------------------------------------------------------------


@pytest.mark.usefixtures("event")
def test_a_valid_sample_reaches_the_subscriptions_whose_patterns_match(client: Client) -> None:
    big = subscribe(client, content_filter={"amount": [{"numeric": [">", 100]}]})
    subscribe(client, target_unit="billing-eu", content_filter={"currency": ["EUR"]})
    subscribe(
        client,
        connection_string="arn:aws:lambda:eu-west-1:111122223333:function:small",
        content_filter={"amount": [{"numeric": ["<=", 100]}]},
    )
    result = client.http.post("/events/order-created/versions/1/test", headers=BILLING, body=body(SAMPLE)).json_body
    assert (result["valid"], result["errors"], result["detail_type"], result["source"]) == (
        True,
        [],
        "order-created.1",
        "shop",
    )
    # target unit "billing" and amount 250 > 100: only the first (the others filter on target or amount)
    assert result["matches"] == [
        {
            "subscription_id": big["subscription_id"],
            "team": "billing-team",
            "target_unit": "billing",
            "connection_type": "LAMBDA",
        }
    ]


@pytest.mark.usefixtures("event")
def test_an_invalid_sample_gets_every_error_per_field_and_reaches_nothing(client: Client) -> None:
    subscribe(client)
    sample = {"metadata": {"event_attributes": {"source": "shop"}}, "data": {"amount": -1, "currency": "GBP"}, "x": 1}
    result = client.http.post("/events/order-created/versions/1/test", headers=BILLING, body=body(sample)).json_body
    assert result["valid"] is False
    assert result["matches"] == []
    assert [error["field"] for error in result["errors"]] == [
        "/",
        "/data",
        "/data/amount",
        "/data/currency",
        "/metadata/event_attributes",
    ]
    assert result["errors"][2]["rule"] == "-1 is less than the minimum of 0"


@pytest.mark.usefixtures("event")
def test_matches_list_only_the_callers_subscriptions_unless_it_owns_the_event(client: Client) -> None:
    mine = subscribe(client)
    theirs = subscribe(client, headers=OTHER, connection_string="arn:aws:lambda:eu-west-1:111122223333:function:x")
    as_other = client.http.post("/events/order-created/versions/1/test", headers=OTHER, body=body(SAMPLE)).json_body
    assert [item["subscription_id"] for item in as_other["matches"]] == [theirs["subscription_id"]]
    as_owner = client.http.post("/events/order-created/versions/1/test", headers=SHOP, body=body(SAMPLE)).json_body
    assert {item["subscription_id"] for item in as_owner["matches"]} == {
        mine["subscription_id"],
        theirs["subscription_id"],
    }
    assert client.http.post("/events/order-created/versions/2/test", headers=SHOP, body=body(SAMPLE)).status_code == 404
    not_object = client.http.post("/events/order-created/versions/1/test", headers=SHOP, body="[1]")
    assert not_object.status_code == 400


# --- change a subscription ---------------------------------------------------------------------------


@pytest.mark.usefixtures("event")
def test_patch_writes_a_new_consumer_deployment_of_the_same_subscription(client: Client, backend: Backend) -> None:
    created = subscribe(client)
    change = {"content_filter": {"currency": ["EUR"]}, "retry_attempts": 3, "maximum_event_age_seconds": 600}
    response = client.http.patch(f"/subscriptions/{created['subscription_id']}", headers=BILLING, body=body(change))
    assert response.status_code == 200, response.json_body
    patched = response.json_body
    assert patched["subscription_id"] == created["subscription_id"]
    assert patched["deployment_id"] != created["deployment_id"]
    assert (patched["content_filter"], patched["retry_attempts"], patched["maximum_event_age_seconds"]) == (
        {"currency": ["EUR"]},
        3,
        600,
    )
    files = sorted(consumer_files(backend), key=lambda item: item.sequence)
    assert [(item.deployment_id, item.action.value, item.sequence) for item in files] == [
        (created["deployment_id"], "deploy", 1),
        (patched["deployment_id"], "deploy", 2),
    ]
    assert (files[1].content_filter, files[1].max_retry_attempts, files[1].max_event_age_seconds) == (
        {"currency": ["EUR"]},
        3,
        600,
    )
    shown = client.http.get(f"/subscriptions/{created['subscription_id']}", headers=BILLING).json_body
    assert (shown["deployment_id"], shown["retry_attempts"]) == (patched["deployment_id"], 3)
    removed = client.http.patch(
        f"/subscriptions/{created['subscription_id']}", headers=BILLING, body=body({"content_filter": None})
    ).json_body
    assert removed["content_filter"] is None
    latest = max(consumer_files(backend), key=lambda item: item.sequence)
    assert (latest.sequence, latest.deployment_id, latest.content_filter) == (3, removed["deployment_id"], None)


@pytest.mark.usefixtures("event")
def test_patch_of_an_sqs_subscription_switches_the_queue_policy(client: Client, backend: Backend) -> None:
    created = subscribe(client, connection_type="SQS", connection_string=SQS_ARN)
    patched = client.http.patch(
        f"/subscriptions/{created['subscription_id']}", headers=BILLING, body=body({"manage_queue_policy": False})
    ).json_body
    assert patched["manage_queue_policy"] is False
    latest = max(consumer_files(backend), key=lambda item: item.sequence)
    assert latest.consumer.manage_queue_policy is False  # type: ignore[union-attr]


@pytest.mark.usefixtures("event")
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body"),
        ({"retry_attempts": 500}, "retry_attempts"),
        ({"maximum_event_age_seconds": 10}, "maximum_event_age_seconds"),
        ({"retry_attempts": None}, "body"),
        ({"content_filter": {"nope": ["x"]}}, "content_filter.nope"),
        ({"manage_queue_policy": False}, "manage_queue_policy"),
        ({"connection_string": "x"}, "connection_string"),
    ],
)
def test_patch_refuses_bad_changes_naming_the_field(client: Client, payload: dict[str, Any], field: str) -> None:
    created = subscribe(client)
    response = client.http.patch(f"/subscriptions/{created['subscription_id']}", headers=BILLING, body=body(payload))
    assert response.status_code == 400, response.json_body
    assert [item["field"] for item in response.json_body["error"]["details"]] == [field]


@pytest.mark.usefixtures("event")
def test_patch_by_another_team_is_403_and_after_a_forced_delete_409(client: Client) -> None:
    created = subscribe(client)
    url = f"/subscriptions/{created['subscription_id']}"
    assert client.http.patch(url, headers=SHOP, body=body({"retry_attempts": 1})).status_code == 403
    assert client.http.delete("/events/order-created?force=true", headers=SHOP).status_code == 200
    gone = client.http.patch(url, headers=BILLING, body=body({"retry_attempts": 1}))
    assert (gone.status_code, gone.json_body["error"]["code"]) == (409, "conflict")


# --- replays ------------------------------------------------------------------------------------------


@pytest.fixture
def archive(backend: Backend) -> str:
    events = boto3.client("events", region_name=backend.config.region)
    events.create_event_bus(Name=backend.config.event_bus_name)
    arn = events.create_archive(
        ArchiveName=backend.names.event_archive, EventSourceArn=backend.config.event_bus_arn, RetentionDays=30
    )["ArchiveArn"]
    return str(arn)


@pytest.mark.usefixtures("event", "archive")
def test_a_subscriber_replays_a_window_to_its_own_rule_and_follows_it(client: Client, backend: Backend) -> None:
    created = subscribe(client)
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(hours=2)).isoformat(), "end": (now - timedelta(hours=1)).isoformat()}
    response = client.http.post(
        f"/subscriptions/{created['subscription_id']}/replays", headers=BILLING, body=body(window)
    )
    assert response.status_code == 201, response.json_body
    replay = response.json_body
    assert replay["replay_name"].startswith(created["subscription_id"] + "-")
    assert replay["state"] in ("STARTING", "RUNNING", "COMPLETED")
    described = boto3.client("events", region_name=backend.config.region).describe_replay(
        ReplayName=replay["replay_name"]
    )
    rule = backend.names.consumer(created["subscription_id"]).rule
    assert described["Destination"]["FilterArns"] == [
        f"arn:aws:events:eu-west-1:123456789012:rule/{backend.config.event_bus_name}/{rule}"
    ]
    assert described["EventSourceArn"].endswith(f":archive/{backend.names.event_archive}")
    followed = client.http.get(
        f"/subscriptions/{created['subscription_id']}/replays/{replay['replay_name']}", headers=BILLING
    ).json_body
    assert followed["replay_name"] == replay["replay_name"]
    assert followed["state"] in ("STARTING", "RUNNING", "COMPLETED")


@pytest.mark.usefixtures("event", "archive")
def test_replays_are_for_the_subscriber_and_sane_windows_only(client: Client) -> None:
    created = subscribe(client)
    url = f"/subscriptions/{created['subscription_id']}/replays"
    now = datetime.now(UTC)
    ok = {"start": (now - timedelta(hours=2)).isoformat(), "end": (now - timedelta(hours=1)).isoformat()}
    assert client.http.post(url, headers=SHOP, body=body(ok)).status_code == 403
    cases = [
        ({"start": ok["end"], "end": ok["start"]}, "end"),
        ({"start": ok["start"], "end": (now + timedelta(hours=1)).isoformat()}, "end"),
        ({"start": (now - timedelta(days=31)).isoformat(), "end": ok["end"]}, "start"),
        ({"start": "2026-01-01T00:00:00", "end": ok["end"]}, "start"),
        ({"start": "yesterday", "end": ok["end"]}, "start"),
    ]
    for window, field in cases:
        response = client.http.post(url, headers=BILLING, body=body(window))
        assert response.status_code == 400, window
        assert response.json_body["error"]["details"][0]["field"] == field
    unknown = client.http.get(f"{url}/{created['subscription_id']}-00000000", headers=BILLING)
    assert unknown.status_code == 404
    assert client.http.get(f"{url}/other-name", headers=BILLING).status_code == 404


# --- dead letters -------------------------------------------------------------------------------------


def _dead_letter(sqs: Any, url: str, when: datetime, order: str) -> None:
    event = {
        "version": "0",
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "detail": {**SAMPLE, "data": {"order_id": order}},
    }
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(event),
        MessageAttributes={
            "ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": "Function not found"},
        },
    )


@pytest.mark.usefixtures("event", "archive")
def test_a_subscriber_sees_its_dead_letters_and_sends_them_back(client: Client, backend: Backend) -> None:
    created = subscribe(client)
    url_path = f"/subscriptions/{created['subscription_id']}/dead-letters"
    assert client.http.get(url_path, headers=BILLING).status_code == 404  # not deployed yet: no queue
    sqs = boto3.client("sqs", region_name=backend.config.region)
    queue = sqs.create_queue(QueueName=backend.names.consumer(created["subscription_id"]).dead_letter_queue)["QueueUrl"]
    now = datetime.now(UTC).replace(microsecond=0)
    _dead_letter(sqs, queue, now - timedelta(minutes=10), "o-1")
    _dead_letter(sqs, queue, now - timedelta(minutes=5), "o-2")
    sqs.send_message(QueueUrl=queue, MessageBody="not an event")
    seen = client.http.get(f"{url_path}?sample=2", headers=BILLING).json_body
    assert (seen["queue_url"], seen["count"], len(seen["sample"])) == (queue, 3, 2)
    assert seen["sample"][0]["error_code"] == "SDK_CLIENT_ERROR"
    assert seen["sample"][0]["error_message"] == "Function not found"
    assert client.http.get(url_path, headers=SHOP).status_code == 403
    assert client.http.get(f"{url_path}?sample=11", headers=BILLING).status_code == 400
    # sampling leaves them in the queue
    assert client.http.get(url_path, headers=BILLING).json_body["count"] == 3
    redriven = client.http.post(f"{url_path}/redrive", headers=BILLING).json_body
    assert (redriven["moved"], redriven["failed"]) == (2, 1)
    replay = boto3.client("events", region_name=backend.config.region).describe_replay(
        ReplayName=redriven["replay_name"]
    )
    assert replay["EventStartTime"] == now - timedelta(minutes=10)
    assert replay["EventEndTime"] == now - timedelta(minutes=5) + timedelta(seconds=1)
    left = client.http.get(url_path, headers=BILLING).json_body
    assert (left["count"], [item["body"] for item in left["sample"]]) == (1, ["not an event"])


@pytest.mark.usefixtures("event")
def test_a_version_removed_by_its_owner_leaves_the_subscriber_a_version_deleted_subscription(client: Client) -> None:
    data = {"type": "object", "properties": {"order_id": {"type": "string"}}}
    assert (
        client.http.put(
            "/events/order-created", headers=SHOP, body=body({"data": data, "compatibility_mode": "NONE"})
        ).status_code
        == 200
    )
    created = subscribe(client, version=2)
    assert client.http.delete("/events/order-created/versions/2?force=true", headers=SHOP).status_code == 200
    kept = client.http.get(f"/subscriptions/{created['subscription_id']}", headers=BILLING).json_body
    assert kept["status"] == "version_deleted"
    assert kept["deployment_status"] == "pending"  # its teardown, requested by the owner's delete
    # the owner's consumer listing only shows live subscriptions
    assert client.http.get("/events/order-created/subscriptions", headers=SHOP).json_body["items"] == []


@pytest.mark.usefixtures("event")
def test_a_replay_eventbridge_refuses_is_a_400_with_its_reason(client: Client, backend: Backend) -> None:
    # no archive on the bus: EventBridge refuses the replay, the portal says why
    boto3.client("events", region_name=backend.config.region).create_event_bus(Name=backend.config.event_bus_name)
    created = subscribe(client)
    now = datetime.now(UTC)
    window = {"start": (now - timedelta(hours=2)).isoformat(), "end": (now - timedelta(hours=1)).isoformat()}
    response = client.http.post(
        f"/subscriptions/{created['subscription_id']}/replays", headers=BILLING, body=body(window)
    )
    assert response.status_code == 400
    assert "does not exist" in response.json_body["error"]["message"]
