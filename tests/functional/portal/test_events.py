"""``/events`` through the Chalice test client over moto: success and failure of every endpoint."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from chalice.test import Client
from chalicelib.container import Services
from chalicelib.errors import ApiError
from chalicelib.models import EventUpdateRequest
from chalicelib.services.backend import Backend

from broker_contract.catalog import component_key
from broker_contract.dynamo_items import serialize
from broker_contract.models import DeploymentAction, ProducerDeployment
from broker_contract.names import deployment_file_key, schema_backup_key
from broker_contract.schemas import envelope_schema
from tests.functional.portal.conftest import (
    BILLING,
    ORDER_DATA,
    OTHER,
    SHOP,
    body,
    create_event,
    s3_json,
    s3_keys,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("no_unhandled")


def producer_files(backend: Backend) -> list[ProducerDeployment]:
    bucket = backend.config.producer_bucket_name
    return [ProducerDeployment.model_validate(s3_json(backend, bucket, key)) for key in s3_keys(backend, bucket)]


# --- POST /events ------------------------------------------------------------------------------


def test_create_stores_catalog_backup_registry_and_producer_file(client: Client, backend: Backend) -> None:
    created = create_event(client)

    deployment_id = created["deployment_id"]
    assert created["version"] == 1
    assert created["version_created"] is True
    assert created["producer_endpoint_path"] == "/order-created/1"
    assert created["schema"] == envelope_schema(ORDER_DATA, "order-created", 1)
    assert created["event"]["owner"] == "shop-team"
    assert created["event"]["revision"] == 1
    # backup = source of truth
    backup = s3_json(backend, backend.config.schema_bucket_name, schema_backup_key("order-created", 1))
    assert backup["schema"] == created["schema"]
    assert backup["data_schema"] == ORDER_DATA
    assert backup["application"] == "shop"
    # registry
    assert backend.registry.schemas == {"order-created.v1": created["schema"]}  # type: ignore[attr-defined]
    # deployment file, at the contract's key, with sequence 1 reserved on the component item
    key = deployment_file_key("producer-order-created-v1", 1, deployment_id)
    assert s3_keys(backend, backend.config.producer_bucket_name) == [key]
    [deployment] = producer_files(backend)
    assert deployment.deployment_id == deployment_id
    assert deployment.action is DeploymentAction.DEPLOY
    assert deployment.sequence == 1
    assert deployment.requested_by == "shop-team"
    assert deployment.event.application == "shop"
    assert deployment.endpoint_path == "/order-created/1"
    assert deployment.envelope_schema == created["schema"]
    record = backend.deployments.get(deployment_id)
    assert record is not None
    assert (record.status.value, record.file_key, record.kind, record.sequence) == ("pending", key, "producer", 1)
    component = backend.catalog.client.get_item(
        TableName=backend.config.catalog_table_name, Key=serialize(component_key("producer-order-created-v1"))
    )["Item"]
    assert component["next_sequence"] == {"N": "1"}
    assert backend.catalog.pending_intents() == []


def test_create_sqs_event_has_no_endpoint_path(client: Client, backend: Backend) -> None:
    created = create_event(client, connection_type="SQS")
    assert created["producer_endpoint_path"] is None
    [deployment] = producer_files(backend)
    assert deployment.producer.connection_type.value == "SQS"


def test_create_existing_event_type_is_409(client: Client, backend: Backend) -> None:
    create_event(client)
    response = client.http.post(
        "/events",
        headers=OTHER,
        body=body({"application": "other", "event_type": "order-created", "connection_type": "SQS", "data": {}}),
    )
    assert response.status_code == 409
    assert response.json_body["error"]["code"] == "conflict"
    assert "exists already" in response.json_body["error"]["message"]
    assert len(producer_files(backend)) == 1


@pytest.mark.parametrize(
    ("data", "field", "rule_part"),
    [
        ({"type": "object", "properties": {"a": {"const": 1}}}, "data/properties/a/const", "draft-06"),
        ({"type": "object", "if": {}}, "data/if", "draft-07"),
        (
            {"type": "object", "properties": {"n": {"type": "number", "exclusiveMinimum": 1}}},
            "data/properties/n/exclusiveMinimum",
            "boolean in draft-04",
        ),
        ({"type": "array"}, "data/type", "JSON object"),
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "data/properties/a/type", "not valid draft-04"),
        ({"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}, "data/$schema", "draft-04"),
    ],
)
def test_create_refuses_schema_problems_naming_pointer_and_rule(
    client: Client, backend: Backend, data: dict[str, Any], field: str, rule_part: str
) -> None:
    response = client.http.post(
        "/events",
        headers=SHOP,
        body=body({"application": "shop", "event_type": "order-created", "connection_type": "HTTPS", "data": data}),
    )
    assert response.status_code == 400
    [detail] = response.json_body["error"]["details"]
    assert detail["field"] == field
    assert rule_part in detail["rule"]
    assert backend.catalog.get_event("order-created") is None
    assert s3_keys(backend, backend.config.schema_bucket_name) == []


VALID = {"application": "shop", "event_type": "order-created", "connection_type": "HTTPS", "data": ORDER_DATA}


@pytest.mark.parametrize(
    ("raw", "field", "rule_part"),
    [
        ("{not json", "body", "valid JSON"),
        ("[1, 2]", "body", "JSON object"),
        ("", "body", "JSON object"),
        (json.dumps({**VALID, "colour": "red"}), "colour", "Extra inputs are not permitted"),
        (
            json.dumps({**VALID, "event_type": "Order Created"}),
            "event_type",
            "must be lowercase letters and digits, optionally separated by single",
        ),
        (json.dumps({**VALID, "event_type": "a" * 49}), "event_type", "at most 48 characters"),
        (json.dumps({**VALID, "application": 7}), "application", "valid string"),
        (json.dumps({**VALID, "connection_type": "FTP"}), "connection_type", "'HTTPS' or 'SQS'"),
        (json.dumps({**VALID, "data": "schema"}), "data", "valid dictionary"),
        (json.dumps({k: v for k, v in VALID.items() if k != "data"}), "data", "Field required"),
        (json.dumps({**VALID, "description": "x" * 1025}), "description", "at most 1024 characters"),
    ],
)
def test_create_bad_input_is_400_with_field_and_rule(client: Client, raw: str, field: str, rule_part: str) -> None:
    response = client.http.post("/events", headers=SHOP, body=raw)
    assert response.status_code == 400
    details = response.json_body["error"]["details"]
    assert details[0]["field"] == field
    assert rule_part in details[0]["rule"]


def test_oversized_body_is_400(client: Client) -> None:
    data = copy.deepcopy(ORDER_DATA)
    data["description"] = "x" * (256 * 1024)
    response = client.http.post("/events", headers=SHOP, body=body({**VALID, "data": data}))
    assert response.status_code == 400
    assert response.json_body["error"]["details"] == [{"field": "body", "rule": "must be at most 262144 bytes"}]


def test_schema_over_the_registry_limit_is_400(client: Client) -> None:
    data = copy.deepcopy(ORDER_DATA)
    data["description"] = "x" * 100_000
    response = client.http.post("/events", headers=SHOP, body=body({**VALID, "data": data}))
    assert response.status_code == 400
    assert response.json_body["error"]["details"] == [
        {
            "field": "data",
            "rule": "the full event schema must be at most 100000 characters (schema registry limit)",
        }
    ]


def test_unknown_query_parameter_is_400(client: Client) -> None:
    response = client.http.post("/events?dry_run=1", headers=SHOP, body=body(VALID))
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == "dry_run"


# --- GET /events -------------------------------------------------------------------------------


def test_list_pages_with_opaque_cursor(client: Client) -> None:
    for index in range(5):
        create_event(client, event_type=f"event-{index}", connection_type="SQS")
    first = client.http.get("/events?limit=2", headers=BILLING).json_body
    assert [item["event_type"] for item in first["items"]] == ["event-0", "event-1"]
    second = client.http.get(f"/events?limit=2&cursor={first['next_cursor']}", headers=BILLING).json_body
    assert [item["event_type"] for item in second["items"]] == ["event-2", "event-3"]
    third = client.http.get(f"/events?limit=2&cursor={second['next_cursor']}", headers=BILLING).json_body
    assert [item["event_type"] for item in third["items"]] == ["event-4"]
    assert third["next_cursor"] is None
    default = client.http.get("/events", headers=BILLING).json_body
    assert len(default["items"]) == 5


def test_list_filters_by_application_and_owner(client: Client) -> None:
    create_event(client, event_type="order-created")
    create_event(client, event_type="order-paid", application="payments")
    create_event(client, event_type="stock-low", application="warehouse", headers=OTHER)
    subscribe(client, headers=SHOP)  # the team index also holds subscriptions: they must not be listed
    by_app = client.http.get("/events?application=payments", headers=SHOP).json_body
    assert [item["event_type"] for item in by_app["items"]] == ["order-paid"]
    by_owner = client.http.get("/events?owner=shop-team", headers=SHOP).json_body
    assert [item["event_type"] for item in by_owner["items"]] == ["order-created", "order-paid"]
    assert client.http.get("/events?owner=nobody", headers=SHOP).json_body == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("cursor=!!!", "cursor"),
        ("cursor=eyJ4IjogMX0", "cursor"),  # {"x": 1}
        ("application=Shop%20App", "application"),
        ("application=shop&owner=shop-team", "application"),
        ("page=2", "page"),
    ],
)
def test_list_bad_parameters_are_400(client: Client, query: str, field: str) -> None:
    response = client.http.get(f"/events?{query}", headers=SHOP)
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == field


def test_cursor_of_another_listing_is_400(client: Client) -> None:
    for index in range(3):
        create_event(client, event_type=f"event-{index}")
    cursor = client.http.get("/events?limit=1", headers=SHOP).json_body["next_cursor"]
    response = client.http.get(f"/events?owner=shop-team&cursor={cursor}", headers=SHOP)
    assert response.status_code == 400
    assert response.json_body["error"]["details"] == [
        {"field": "cursor", "rule": "belongs to a different listing or filter"}
    ]


# --- GET /events/{event_type} and versions ------------------------------------------------------


def test_get_event_lists_versions_with_subscription_counts(client: Client) -> None:
    create_event(client)
    subscribe(client)
    subscribe(client, target_unit="finance")
    detail = client.http.get("/events/order-created", headers=OTHER).json_body
    assert detail["event_type"] == "order-created"
    assert [(v["version"], v["subscription_count"]) for v in detail["versions"]] == [(1, 2)]
    assert detail["versions"][0]["producer_endpoint_path"] == "/order-created/1"


def test_get_version_returns_full_schema(client: Client) -> None:
    create_event(client)
    detail = client.http.get("/events/order-created/versions/1", headers=OTHER).json_body
    assert detail["schema"] == envelope_schema(ORDER_DATA, "order-created", 1)
    assert detail["data_schema"] == ORDER_DATA
    assert detail["detail_type"] == "order-created.1"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/events/nothing-here", 404),
        ("/events/order-created/versions/2", 404),
        ("/events/nothing-here/versions/1", 404),
        ("/events/Bad%20Name", 400),
        ("/events/order-created/versions/one", 400),
        ("/events/order-created/versions/0", 400),
    ],
)
def test_get_unknown_or_malformed(client: Client, path: str, status: int) -> None:
    create_event(client)
    response = client.http.get(path, headers=SHOP)
    assert response.status_code == status
    assert response.json_body["error"]["code"] == {404: "not_found", 400: "bad_request"}[status]


# --- PUT /events/{event_type} --------------------------------------------------------------------


def test_description_only_change_keeps_the_version(client: Client, backend: Backend) -> None:
    create_event(client)
    response = client.http.put("/events/order-created", headers=SHOP, body=body({"description": "Orders, placed"}))
    assert response.status_code == 200
    assert response.json_body["version"] == 1
    assert response.json_body["version_created"] is False
    assert response.json_body["deployment_id"] is None
    assert response.json_body["event"]["description"] == "Orders, placed"
    assert response.json_body["event"]["revision"] == 2
    assert len(producer_files(backend)) == 1


def test_same_schema_is_not_a_new_version(client: Client) -> None:
    create_event(client)
    response = client.http.put("/events/order-created", headers=SHOP, body=body({"data": ORDER_DATA}))
    assert response.json_body["version_created"] is False


def test_compatible_schema_change_creates_next_version(client: Client, backend: Backend) -> None:
    create_event(client)
    data = copy.deepcopy(ORDER_DATA)
    data["properties"]["note"] = {"type": "string"}
    response = client.http.put("/events/order-created", headers=SHOP, body=body({"data": data}))
    assert response.status_code == 200
    change = response.json_body
    # an optional field added to an open schema: FORWARD (the default mode) holds, BACKWARD does not
    assert (change["version"], change["version_created"]) == (2, True)
    assert change["compatibility"]["mode"] == "FORWARD"
    assert change["compatibility"]["forward"] == {"compatible": True, "problems": []}
    assert change["compatibility"]["backward"]["compatible"] is False
    assert change["backward_compatible"] is False
    assert change["producer_endpoint_path"] == "/order-created/2"
    assert change["event"]["latest_version"] == 2
    files = {(item.event.version, item.sequence) for item in producer_files(backend)}
    assert files == {(1, 1), (2, 1)}
    assert (
        s3_json(backend, backend.config.schema_bucket_name, schema_backup_key("order-created", 2))["data_schema"]
        == data
    )
    versions = client.http.get("/events/order-created", headers=SHOP).json_body["versions"]
    assert [
        (v["version"], v["compatibility"]["against"], v["compatibility"]["forward"]["compatible"]) for v in versions
    ] == [
        (1, None, True),
        (2, 1, True),
    ]


def test_incompatible_schema_change_is_refused_with_every_problem_and_nothing_stored(
    client: Client, backend: Backend
) -> None:
    create_event(client)
    data = copy.deepcopy(ORDER_DATA)
    del data["properties"]["customer"]
    data["required"] = ["order_id"]
    data["properties"]["amount"] = {"type": ["number", "string"]}
    data["properties"]["currency"]["enum"] = ["EUR", "USD", "GBP"]
    response = client.http.put("/events/order-created", headers=SHOP, body=body({"data": data}))
    assert response.status_code == 409
    error = response.json_body["error"]
    assert error["code"] == "incompatible_schema"
    REFUSED_BY_V1 = ": valid under the new schema, refused by the earlier one"
    # pointers are in the schema that must accept (for FORWARD: v1), messages say what it would refuse
    assert {(item["field"], item["rule"]) for item in error["details"]} == {
        (
            "data/properties/amount/type",
            "FORWARD against v1: strings" + REFUSED_BY_V1,
        ),
        (
            "data/properties/amount/minimum",
            "FORWARD against v1: numbers below 0" + REFUSED_BY_V1,
        ),
        (
            "data/properties/currency",
            "FORWARD against v1: value 'GBP'" + REFUSED_BY_V1,
        ),
        (
            "data/required",
            "FORWARD against v1: objects without the field 'amount'" + REFUSED_BY_V1,
        ),
        (
            "data/properties/customer/type",
            "FORWARD against v1: null, booleans, numbers, strings, arrays" + REFUSED_BY_V1,
        ),
        (
            "data/properties/customer/properties/country/type",
            "FORWARD against v1: null, booleans, numbers, arrays, objects" + REFUSED_BY_V1,
        ),
    }
    assert [v["version"] for v in client.http.get("/events/order-created", headers=SHOP).json_body["versions"]] == [1]
    assert len(producer_files(backend)) == 1


def test_mode_none_accepts_any_change_and_the_verdicts_still_show(client: Client) -> None:
    create_event(client, compatibility_mode="NONE")
    data = copy.deepcopy(ORDER_DATA)
    data["properties"]["amount"] = {"type": "string"}
    change = client.http.put("/events/order-created", headers=SHOP, body=body({"data": data})).json_body
    assert change["version_created"] is True
    assert change["compatibility"]["backward"]["compatible"] is False
    assert change["compatibility"]["forward"]["compatible"] is False
    assert change["compatibility_problems"] == [
        "/properties/amount/type: numbers: valid under the earlier schema, refused by the new one"
    ]


def test_owner_changes_the_mode_and_transitive_modes_check_every_version(client: Client) -> None:
    create_event(client, compatibility_mode="NONE")
    v2 = copy.deepcopy(ORDER_DATA)
    v2["properties"]["amount"] = {"type": "number", "minimum": 10}
    assert client.http.put("/events/order-created", headers=SHOP, body=body({"data": v2})).status_code == 200
    refused = client.http.put("/events/order-created", headers=OTHER, body=body({"compatibility_mode": "FULL"}))
    assert refused.status_code == 403
    changed = client.http.put(
        "/events/order-created", headers=SHOP, body=body({"compatibility_mode": "FORWARD_TRANSITIVE"})
    )
    assert changed.json_body["event"]["compatibility_mode"] == "FORWARD_TRANSITIVE"
    # v3 lowers the minimum to 5: v2 (minimum 10) refuses 5..10, v1 (minimum 0) accepts them: only v2 is named
    v3 = copy.deepcopy(ORDER_DATA)
    v3["properties"]["amount"] = {"type": "number", "minimum": 5}
    response = client.http.put("/events/order-created", headers=SHOP, body=body({"data": v3}))
    assert response.status_code == 409
    assert [item["rule"].split(":")[0] for item in response.json_body["error"]["details"]] == ["FORWARD against v2"]
    # plain FORWARD checks the latest version only: v4 adds an optional field to v2, which v2 accepts
    assert (
        client.http.put("/events/order-created", headers=SHOP, body=body({"compatibility_mode": "FORWARD"})).status_code
        == 200
    )
    v4 = copy.deepcopy(v2)
    v4["properties"]["note"] = {"type": "string"}
    assert client.http.put("/events/order-created", headers=SHOP, body=body({"data": v4})).status_code == 200


@pytest.mark.parametrize(
    ("mode", "broken"),
    [
        ("NONE", []),
        ("BACKWARD", []),
        ("FORWARD", ["FORWARD against v2"]),
        ("FULL", ["FORWARD against v2"]),
        ("BACKWARD_TRANSITIVE", ["BACKWARD against v1"]),
        ("FORWARD_TRANSITIVE", ["FORWARD against v2"]),
        ("FULL_TRANSITIVE", ["BACKWARD against v1", "FORWARD against v2"]),
    ],
)
def test_each_mode_checks_its_directions_against_its_versions(client: Client, mode: str, broken: list[str]) -> None:
    create_event(client, compatibility_mode="NONE")
    v2 = copy.deepcopy(ORDER_DATA)
    v2["properties"]["amount"] = {"type": "number", "minimum": 10}
    assert client.http.put("/events/order-created", headers=SHOP, body=body({"data": v2})).status_code == 200
    # v3's minimum 5 refuses v1's amounts from 0 to 5 (backward against v1) and accepts 5 to 10, which v2
    # refuses (forward against v2): which of the two a mode sees depends on its directions and its reach
    v3 = copy.deepcopy(ORDER_DATA)
    v3["properties"]["amount"] = {"type": "number", "minimum": 5}
    change = body({"data": v3, "compatibility_mode": mode})
    response = client.http.put("/events/order-created", headers=SHOP, body=change)
    if not broken:
        assert response.status_code == 200, response.json_body
        return
    assert response.status_code == 409
    assert [item["rule"].split(":")[0] for item in response.json_body["error"]["details"]] == broken


def test_undecidable_change_is_refused_under_a_mode_with_the_reason(client: Client) -> None:
    create_event(client)
    data = copy.deepcopy(ORDER_DATA)
    data["properties"]["order_id"] = {"type": "string", "minLength": 1, "pattern": "^o-"}
    v2 = client.http.put("/events/order-created", headers=SHOP, body=body({"data": data, "compatibility_mode": "NONE"}))
    assert v2.status_code == 200
    data["properties"]["order_id"]["pattern"] = "^ord-"
    response = client.http.put(
        "/events/order-created", headers=SHOP, body=body({"data": data, "compatibility_mode": "FORWARD"})
    )
    assert response.status_code == 409
    assert response.json_body["error"]["details"] == [
        {
            "field": "data/properties/order_id/pattern",
            "rule": "FORWARD against v2: cannot decide: pattern changed to '^o-'",
        }
    ]


def test_diff_shows_both_directions_and_both_schemas(client: Client) -> None:
    create_event(client, compatibility_mode="NONE")
    data = copy.deepcopy(ORDER_DATA)
    data["required"] = ["order_id"]
    client.http.put("/events/order-created", headers=SHOP, body=body({"data": data}))
    diff = client.http.get("/events/order-created/diff?from=1&to=2", headers=BILLING).json_body
    assert (diff["from"], diff["to"], diff["mode"]) == (1, 2, "NONE")
    assert diff["backward"] == {"compatible": True, "problems": []}
    assert diff["forward"]["compatible"] is False
    assert diff["forward"]["problems"] == [
        {
            "pointer": "/required",
            "message": "objects without the field 'amount': valid under the new schema, refused by the earlier one",
        }
    ]
    assert (diff["from_schema"], diff["to_schema"]) == (ORDER_DATA, data)
    assert client.http.get("/events/order-created/diff?from=1&to=3", headers=SHOP).status_code == 404
    missing = client.http.get("/events/order-created/diff?from=1", headers=SHOP)
    assert (missing.status_code, missing.json_body["error"]["details"][0]["field"]) == (400, "to")
    assert client.http.get("/events/order-created/diff?from=0&to=1", headers=SHOP).status_code == 400


def test_update_by_another_team_is_403_and_unknown_is_404(client: Client) -> None:
    create_event(client)
    forbidden = client.http.put("/events/order-created", headers=OTHER, body=body({"description": "mine"}))
    assert forbidden.status_code == 403
    assert "owned by team shop-team" in forbidden.json_body["error"]["message"]
    missing = client.http.put("/events/nothing", headers=SHOP, body=body({"description": "x"}))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "body"), ({"data": {"type": "object", "if": {}}}, "data/if"), ({"owner": "me"}, "owner")],
)
def test_update_bad_input_is_400(client: Client, payload: dict[str, Any], field: str) -> None:
    create_event(client)
    response = client.http.put("/events/order-created", headers=SHOP, body=body(payload))
    assert response.status_code == 400
    assert response.json_body["error"]["details"][0]["field"] == field


def test_if_match_with_a_stale_revision_is_409(client: Client) -> None:
    create_event(client)
    headers = {**SHOP, "If-Match": "1"}
    assert client.http.put("/events/order-created", headers=headers, body=body({"description": "a"})).status_code == 200
    stale = client.http.put("/events/order-created", headers=headers, body=body({"description": "b"}))
    assert stale.status_code == 409
    assert "revision 2, not 1" in stale.json_body["error"]["message"]


def test_concurrent_updates_never_lose_one_another(
    client: Client, services: Services, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two writers read revision 1; the second to commit loses with 409, the first's version survives."""
    create_event(client)
    stale = backend.catalog.get_event("order-created")
    first = copy.deepcopy(ORDER_DATA)
    first["properties"]["first"] = {"type": "string"}
    second = copy.deepcopy(ORDER_DATA)
    second["properties"]["second"] = {"type": "string"}
    assert services.events.update("shop-team", "order-created", EventUpdateRequest(data=first), None).version == 2
    monkeypatch.setattr(backend.catalog, "get_event", lambda event_type: stale)  # the loser read before the winner
    with pytest.raises(ApiError) as lost:
        services.events.update("shop-team", "order-created", EventUpdateRequest(data=second), None)
    assert lost.value.status == 409
    monkeypatch.undo()
    detail = client.http.get("/events/order-created/versions/2", headers=SHOP).json_body
    assert "first" in detail["data_schema"]["properties"]
    assert client.http.get("/events/order-created/versions/3", headers=SHOP).status_code == 404
    assert backend.catalog.pending_intents() == []


# --- DELETE --------------------------------------------------------------------------------------


def test_delete_with_subscriptions_is_409_unless_forced(client: Client, backend: Backend) -> None:
    create_event(client)
    sub = subscribe(client)
    blocked = client.http.delete("/events/order-created", headers=SHOP)
    assert blocked.status_code == 409
    assert sub["subscription_id"] in blocked.json_body["error"]["message"]

    forced = client.http.delete("/events/order-created?force=true", headers=SHOP)
    assert forced.status_code == 200
    removal = forced.json_body
    assert removal["versions"] == [1]
    assert removal["removed_subscriptions"] == [sub["subscription_id"]]
    assert client.http.get("/events/order-created", headers=SHOP).status_code == 404
    # the subscriber still sees its subscription, why it went, and its teardown deployment
    kept = client.http.get(f"/subscriptions/{sub['subscription_id']}", headers=BILLING).json_body
    assert (kept["status"], kept["deployment_id"]) == ("event_deleted", removal["deployment_ids"][0])
    listed = client.http.get("/subscriptions", headers=BILLING).json_body["items"]
    assert [(item["subscription_id"], item["status"]) for item in listed] == [(sub["subscription_id"], "event_deleted")]
    # deleting it then only forgets it: the teardown was requested already
    forgotten = client.http.delete(f"/subscriptions/{sub['subscription_id']}", headers=BILLING)
    assert forgotten.json_body["deployment_id"] == removal["deployment_ids"][0]
    assert client.http.get(f"/subscriptions/{sub['subscription_id']}", headers=BILLING).status_code == 404
    # teardown files: the consumer, then the producer
    consumer_bucket = backend.config.consumer_bucket_name
    consumer_destroy = [
        s3_json(backend, consumer_bucket, key)
        for key in s3_keys(backend, consumer_bucket)
        if s3_json(backend, consumer_bucket, key)["action"] == "destroy"
    ]
    assert [(item["subscription_id"], item["sequence"]) for item in consumer_destroy] == [(sub["subscription_id"], 2)]
    producer = sorted((item.sequence, item.action.value) for item in producer_files(backend))
    assert producer == [(1, "deploy"), (2, "destroy")]
    assert removal["deployment_ids"] == [consumer_destroy[0]["deployment_id"], producer_files(backend)[1].deployment_id]
    assert s3_keys(backend, backend.config.schema_bucket_name) == []
    assert backend.registry.schemas == {}  # type: ignore[attr-defined]
    assert client.http.get("/events", headers=SHOP).json_body["items"] == []


def test_delete_without_subscriptions(client: Client, backend: Backend) -> None:
    create_event(client)
    response = client.http.delete("/events/order-created", headers=SHOP)
    assert response.status_code == 200
    assert response.json_body["removed_subscriptions"] == []
    assert [item.action.value for item in producer_files(backend)] == ["deploy", "destroy"]


def test_delete_one_version(client: Client, backend: Backend) -> None:
    create_event(client)
    data = copy.deepcopy(ORDER_DATA)
    data["properties"]["note"] = {"type": "string"}
    client.http.put("/events/order-created", headers=SHOP, body=body({"data": data}))
    subscribe(client, version=2)
    assert client.http.delete("/events/order-created/versions/2", headers=SHOP).status_code == 409
    response = client.http.delete("/events/order-created/versions/2?force=true", headers=SHOP)
    assert response.status_code == 200
    assert response.json_body["versions"] == [2]
    detail = client.http.get("/events/order-created", headers=SHOP).json_body
    assert [v["version"] for v in detail["versions"]] == [1]
    assert detail["latest_version"] == 1
    assert s3_keys(backend, backend.config.schema_bucket_name) == [schema_backup_key("order-created", 1)]
    destroyed = [item for item in producer_files(backend) if item.action is DeploymentAction.DESTROY]
    assert [(item.event.version, item.sequence) for item in destroyed] == [(2, 2)]


def test_delete_the_only_version_is_409(client: Client) -> None:
    create_event(client)
    response = client.http.delete("/events/order-created/versions/1", headers=SHOP)
    assert response.status_code == 409
    assert "delete the event type instead" in response.json_body["error"]["message"]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/events/order-created", OTHER, 403),
        ("/events/order-created/versions/1", OTHER, 403),
        ("/events/nothing", SHOP, 404),
        ("/events/order-created/versions/7", SHOP, 404),
        ("/events/order-created?force=yes", SHOP, 400),
        ("/events/order-created?cascade=true", SHOP, 400),
    ],
)
def test_delete_refusals(client: Client, path: str, headers: dict[str, str], status: int) -> None:
    create_event(client)
    assert client.http.delete(path, headers=headers).status_code == status
    assert client.http.get("/events/order-created", headers=SHOP).status_code == 200
