"""AWS quotas refused by the portal before anything is written (counters in the catalog, no Scan)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from app import app
from chalice.test import Client
from chalicelib import container
from chalicelib.aws.catalog import serialize
from chalicelib.aws.guards import CatalogGuards
from chalicelib.services.backend import Backend
from chalicelib.settings import PortalSettings, RegistryMode

from broker_contract.capacity import COUNTED
from broker_contract.config import Quotas
from broker_contract.routing import event_pattern_json
from tests.functional.portal.conftest import (
    BILLING,
    SHOP,
    SQS_ARN,
    TEAMS,
    TOKENS,
    body,
    create_event,
    s3_keys,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("no_unhandled")


def _install(backend: Backend, **quotas: int) -> container.Services:
    settings = PortalSettings(tokens=TOKENS, registry_mode=RegistryMode.LOCAL, teams=TEAMS, quotas=Quotas(**quotas))
    services = container.Services.over(backend, settings)
    container.install(services)
    return services


@pytest.fixture
def limited(backend: Backend, request: pytest.FixtureRequest) -> Iterator[Client]:
    _install(backend, **request.param)
    with Client(app) as test_client:
        yield test_client
    container.reset()


def usage(backend: Backend, *names: str) -> dict[str, int]:
    return CatalogGuards.over(backend.catalog).usage(names)


def new_version(client: Client) -> int:
    """Version 2 of order-created, whose event was created in mode NONE (v2 accepts any object)."""
    response = client.http.put("/events/order-created", headers=SHOP, body=body({"data": {"type": "object"}}))
    assert response.status_code == 200, response.json_body
    assert response.json_body["version_created"] is True
    return int(response.json_body["version"])


def files(backend: Backend) -> int:
    config = backend.config
    return len(s3_keys(backend, config.consumer_bucket_name)) + len(s3_keys(backend, config.producer_bucket_name))


def test_the_301st_subscription_on_the_bus_is_409_naming_the_quota_and_count(client: Client, backend: Backend) -> None:
    create_event(client)
    guards = CatalogGuards.over(backend.catalog)
    # 300 rules per bus by default, one is the archive's: 298 subscriptions exist, one place is left
    guards.set_usage("rules", 298)
    subscribe(client, target_unit="last")
    assert usage(backend, "rules") == {"rules": 299}
    before = files(backend)
    refused = client.http.post(
        "/subscriptions",
        headers=BILLING,
        body=body({**_subscription(), "target_unit": "one-too-many"}),
    )
    assert refused.status_code == 409, refused.json_body
    error = refused.json_body["error"]
    assert error["code"] == "conflict"
    assert "quota rules_per_event_bus reached: 299 of 299 in use" in error["message"]
    assert error["details"][0]["field"] == "quotas.rules_per_event_bus"
    assert (files(backend), usage(backend, "rules")) == (before, {"rules": 299})
    assert len(backend.catalog.subscriptions_of_event("order-created")) == 1


def _subscription(**overrides: Any) -> dict[str, Any]:
    return {
        "event_type": "order-created",
        "version": 1,
        "target_unit": "billing",
        "connection_type": "SQS",
        "connection_string": SQS_ARN,
        **overrides,
    }


@pytest.mark.parametrize("limited", [{"rules_per_event_bus": 3}], indirect=True)
def test_deleting_a_subscription_gives_its_rule_back(limited: Client, backend: Backend) -> None:
    create_event(limited)
    first = subscribe(limited, target_unit="one")
    subscribe(limited, target_unit="two")
    assert limited.http.post("/subscriptions", headers=BILLING, body=body(_subscription())).status_code == 409
    assert limited.http.delete(f"/subscriptions/{first['subscription_id']}", headers=BILLING).status_code == 200
    assert usage(backend, "rules") == {"rules": 1}
    assert limited.http.post("/subscriptions", headers=BILLING, body=body(_subscription())).status_code == 201


@pytest.mark.parametrize("limited", [{"versions_per_schema": 3}], indirect=True)
def test_a_version_past_versions_per_schema_is_409(limited: Client, backend: Backend) -> None:
    # unrelated schemas make the versions: only the quota may refuse them, not the default FORWARD mode
    create_event(limited, compatibility_mode="NONE")
    for number in (2, 3):
        data = {"type": "object", "properties": {f"field{number}": {"type": "string"}}}
        assert limited.http.put("/events/order-created", headers=SHOP, body=body({"data": data})).status_code == 200
    before = files(backend)
    refused = limited.http.put(
        "/events/order-created", headers=SHOP, body=body({"data": {"type": "object", "title": "v4"}})
    )
    assert refused.status_code == 409, refused.json_body
    assert (
        "quota versions_per_schema reached: event type 'order-created' has 3 of 3"
        in refused.json_body["error"]["message"]
    )
    event = backend.catalog.get_event("order-created")
    assert event is not None and event.latest_version == 3
    assert files(backend) == before


def test_without_configuration_the_101st_version_is_409(client: Client, backend: Backend) -> None:
    """AWS's default of 100 versions per schema holds where no environment raised it (rules per bus and pattern
    characters keep their defaults in the 301st-subscription and 2048-character tests)."""
    create_event(client, compatibility_mode="NONE")
    event = backend.catalog.get_event("order-created")
    assert event is not None
    # 99 versions through the API would take minutes: the stored event is made to count 100
    aged = event.model_copy(update={"latest_version": 100})
    backend.catalog.client.put_item(TableName=backend.config.catalog_table_name, Item=serialize(aged.to_item()))
    refused = client.http.put("/events/order-created", headers=SHOP, body=body({"data": {"type": "object"}}))
    assert refused.status_code == 409, refused.json_body
    assert "event type 'order-created' has 100 of 100 versions" in refused.json_body["error"]["message"]


def _big_filter(values: int) -> dict[str, Any]:
    return {"currency": ["EUR"], "customer": {"country": [f"country-{index:04d}" for index in range(values)]}}


def test_a_pattern_over_2048_characters_after_the_merge_is_400(client: Client, backend: Backend) -> None:
    create_event(client)
    # the filter alone fits; merged into the rule's pattern (source, detail-type, target unit) it does not
    content_filter = _big_filter(130)
    assert len(event_pattern_json(content_filter)) < 2048
    refused = client.http.post(
        "/subscriptions", headers=BILLING, body=body(_subscription(content_filter=content_filter))
    )
    assert refused.status_code == 400, refused.json_body
    error = refused.json_body["error"]
    assert "quota event_pattern_characters" in error["message"]
    assert error["details"][0]["field"] == "content_filter"
    assert backend.catalog.subscriptions_of_event("order-created") == []
    assert usage(backend, "rules") == {"rules": 0}
    assert s3_keys(backend, backend.config.consumer_bucket_name) == []
    # 2,047 characters once merged: within the quota
    subscribe(client, **_subscription(content_filter=_big_filter(125)))


@pytest.mark.parametrize("limited", [{"schemas_per_registry": 2}], indirect=True)
def test_event_types_past_the_registry_quota_are_409_and_nothing_is_written(limited: Client, backend: Backend) -> None:
    create_event(limited, event_type="first", connection_type="SQS")
    create_event(limited, event_type="second", connection_type="SQS")
    before = files(backend)
    refused = limited.http.post(
        "/events",
        headers=SHOP,
        body=body({"application": "shop", "event_type": "third", "connection_type": "SQS", "data": {}}),
    )
    assert refused.status_code == 409, refused.json_body
    assert "quota schemas_per_registry reached: 2 of 2 in use" in refused.json_body["error"]["message"]
    assert backend.catalog.get_event("third") is None
    assert files(backend) == before
    assert limited.http.delete("/events/first", headers=SHOP).status_code == 200
    assert usage(backend, "schemas") == {"schemas": 1}


def test_https_event_types_count_api_resources_usage_plans_and_keys(client: Client, backend: Backend) -> None:
    create_event(client, event_type="order-created", compatibility_mode="NONE")
    assert new_version(client)
    create_event(client, event_type="stock-low", connection_type="SQS")
    assert usage(backend, "schemas", "api_resources", "usage_plans", "api_keys") == {
        "schemas": 3,
        "api_resources": 3,  # /order-created, /order-created/1, /order-created/2
        "usage_plans": 2,
        "api_keys": 2,
    }
    assert client.http.delete("/events/order-created", headers=SHOP).status_code == 200
    # the generator leaves /order-created on the API: it stays counted
    assert usage(backend, "api_resources", "usage_plans") == {"api_resources": 1, "usage_plans": 0}


@pytest.mark.parametrize("limited", [{"resources_per_rest_api": 3}], indirect=True)
def test_the_producer_api_resource_quota_is_409(limited: Client) -> None:
    create_event(limited)  # root + /order-created + /order-created/1
    refused = limited.http.post(
        "/events",
        headers=SHOP,
        body=body({"application": "shop", "event_type": "other", "connection_type": "HTTPS", "data": {}}),
    )
    assert refused.status_code == 409
    assert "quota resources_per_rest_api reached: 2 of 2 in use" in refused.json_body["error"]["message"]


@pytest.mark.parametrize("limited", [{"api_destinations_per_account": 1}], indirect=True)
def test_https_subscriptions_count_api_destinations(limited: Client) -> None:
    create_event(limited)
    https = {"connection_type": "HTTPS", "connection_string": "https://hooks.example.com/one"}
    assert limited.http.post("/subscriptions", headers=BILLING, body=body(_subscription(**https))).status_code == 201
    https["connection_string"] = "https://hooks.example.com/two"
    refused = limited.http.post("/subscriptions", headers=BILLING, body=body(_subscription(**https)))
    assert refused.status_code == 409
    assert "api_destinations_per_account" in refused.json_body["error"]["message"]


def test_fixed_quotas_cannot_be_raised_in_configuration() -> None:
    with pytest.raises(ValueError, match="targets_per_rule"):
        Quotas(targets_per_rule=6)
    with pytest.raises(ValueError, match="event_size_bytes"):
        Quotas(event_size_bytes=512 * 1024)
    assert Quotas(rules_per_event_bus=2000).rules_per_event_bus == 2000


def test_recount_sets_the_counters_from_the_catalog(
    client: Client, backend: Backend, services: container.Services
) -> None:
    create_event(client, compatibility_mode="NONE")
    assert new_version(client)
    subscribe(client)
    subscribe(client, target_unit="web", connection_type="HTTPS", connection_string="https://hooks.example.com/in")
    expected = usage(backend, *COUNTED)
    guards = CatalogGuards.over(backend.catalog)
    for counter in COUNTED:  # counters of a catalog written before they existed
        guards.set_usage(counter, 0)
    assert services.subscriptions.quotas.recount(backend.catalog) == expected
    assert (
        usage(backend, *COUNTED)
        == expected
        == {
            "rules": 2,
            "schemas": 2,
            "api_resources": 3,
            "usage_plans": 2,
            "api_keys": 2,
            "api_destinations": 1,
            "connections": 1,
        }
    )


def test_subscriptions_removed_by_a_forced_delete_give_their_rule_back_and_recount_agrees(
    client: Client, backend: Backend, services: container.Services
) -> None:
    create_event(client, compatibility_mode="NONE")
    assert new_version(client) == 2
    gone = subscribe(client)
    subscribe(client, version=2, target_unit="kept")
    assert usage(backend, "rules") == {"rules": 2}
    removed = client.http.delete("/events/order-created/versions/1?force=true", headers=SHOP)
    assert removed.status_code == 200, removed.json_body
    # the subscriber still sees its subscription (issue 10), but it holds no rule any more (issue 9)
    seen = client.http.get(f"/subscriptions/{gone['subscription_id']}", headers=BILLING).json_body
    assert seen["status"] == "version_deleted"
    live = usage(backend, *COUNTED)
    assert live["rules"] == 1
    assert services.subscriptions.quotas.recount(backend.catalog) == live
