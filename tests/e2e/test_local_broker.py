"""The whole broker on loopback (moto_server, chalice local, the generator worker), driven over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_mode.broker import LocalBroker
from local_mode.client import PortalClient, Response
from local_mode.processes import free_port, group_members
from local_mode.settings import LocalSettings
from local_mode.summary import endpoint_paths, resources, rules, terraform_document
from local_mode.terraform import TerraformDecision
from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SETTLED = {"synthesized", "deployed", "destroyed", "failed", "superseded"}
ORDER_V1: dict[str, Any] = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
    "required": ["order_id"],
}
ORDER_V2: dict[str, Any] = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}, "currency": {"type": "string"}},
    "required": ["order_id"],
}
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:e2e-billing-orders"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    settings = LocalSettings(
        moto_port=free_port(),
        portal_port=free_port(),
        workdir=tmp_path_factory.mktemp("local"),
        terraform=TerraformDecision(False, "e2e tests never run terraform"),
    )
    local = LocalBroker(settings)
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def shop(broker: LocalBroker) -> PortalClient:
    return PortalClient(broker.portal_url, SHOP_TOKEN)


@pytest.fixture(scope="module")
def billing(broker: LocalBroker) -> PortalClient:
    return PortalClient(broker.portal_url, BILLING_TOKEN)


def settled(portal: PortalClient, deployment_id: str, timeout: float = 45.0) -> dict[str, Any]:
    """The deployment record once its status is final or ``synthesized``."""
    deadline = time.monotonic() + timeout
    while True:
        response = portal.request("GET", f"/deployments/{deployment_id}")
        assert response.status == 200, response
        if response.body["status"] in SETTLED or time.monotonic() > deadline:
            return dict(response.body)
        time.sleep(0.3)


def terraform(portal: PortalClient, deployment_id: str) -> dict[str, Any]:
    response = portal.request("GET", f"/deployments/{deployment_id}/terraform")
    assert response.status == 200, response
    return terraform_document(response.body)


def model_fields(stack: dict[str, Any]) -> list[str]:
    (model,) = resources(stack, "aws_api_gateway_model").values()
    schema = json.loads(model["schema"])
    return sorted(schema["properties"]["data"]["properties"])


def test_event_versions_and_subscription_become_synthesized_stacks(
    broker: LocalBroker, shop: PortalClient, billing: PortalClient
) -> None:
    created = shop.request(
        "POST",
        "/events",
        {"application": "webshop", "event_type": "e2e_order", "connection_type": "HTTPS", "data": ORDER_V1},
    )
    assert created.status == 201, created
    assert (created.body["version"], created.body["producer_endpoint_path"]) == (1, "/e2e_order/1")

    updated = shop.request("PUT", "/events/e2e_order", {"data": ORDER_V2})
    assert updated.status == 200, updated
    assert (updated.body["version"], updated.body["version_created"]) == (2, True)
    assert updated.body["producer_endpoint_path"] == "/e2e_order/2"

    subscribed = billing.request(
        "POST",
        "/subscriptions",
        {
            "event_type": "e2e_order",
            "version": 2,
            "target_unit": "billing",
            "connection_type": "SQS",
            "connection_string": QUEUE_ARN,
            "content_filter": {"currency": ["EUR"]},
        },
    )
    assert subscribed.status == 201, subscribed

    v1 = settled(shop, created.body["deployment_id"])
    v2 = settled(shop, updated.body["deployment_id"])
    consumer = settled(billing, subscribed.body["deployment_id"])
    assert [v1["status"], v2["status"], consumer["status"]] == ["synthesized"] * 3, (v1, v2, consumer)

    producer_v1 = terraform(shop, created.body["deployment_id"])
    producer_v2 = terraform(shop, updated.body["deployment_id"])
    assert endpoint_paths(producer_v1) == ["/e2e_order/1"]
    assert endpoint_paths(producer_v2) == ["/e2e_order/2"]
    assert model_fields(producer_v1) == ["amount", "order_id"]
    assert model_fields(producer_v2) == ["amount", "currency", "order_id"]

    (rule,) = rules(terraform(billing, subscribed.body["deployment_id"]))
    assert rule.pattern["detail-type"] == ["e2e_order.2"]
    assert rule.pattern["detail"]["data"] == {"currency": ["EUR"]}
    assert rule.pattern["detail"]["metadata"] == {"event_attributes": {"target": ["billing"]}}
    assert rule.targets == [QUEUE_ARN]

    removed = billing.request("DELETE", f"/subscriptions/{subscribed.body['subscription_id']}")
    assert removed.status in (200, 202), removed
    assert billing.request("GET", f"/subscriptions/{subscribed.body['subscription_id']}").status == 404
    deleted = shop.request("DELETE", "/events/e2e_order")
    assert deleted.status in (200, 202), deleted
    assert sorted(deleted.body["versions"]) == [1, 2]
    for teardown in deleted.body["deployment_ids"]:
        assert settled(shop, teardown)["status"] in SETTLED
    assert shop.request("GET", "/events/e2e_order").status == 404


def raw(portal: PortalClient, method: str, path: str, payload: bytes) -> Response:
    return portal.request(method, path, raw=payload)


def test_bad_requests_get_4xx_with_a_reason(shop: PortalClient, billing: PortalClient) -> None:
    malformed = raw(shop, "POST", "/events", b'{"application": "webshop", ')
    assert malformed.status == 400, malformed
    assert "error" in malformed.body

    unknown = shop.request("GET", "/events/no_such_event")
    assert unknown.status == 404, unknown

    subscribe_unknown = billing.request(
        "POST",
        "/subscriptions",
        {
            "event_type": "no_such_event",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "SQS",
            "connection_string": QUEUE_ARN,
        },
    )
    assert subscribe_unknown.status == 404, subscribe_unknown

    bad_field = shop.request(
        "POST",
        "/events",
        {"application": "Web Shop", "event_type": "e2e_bad", "connection_type": "HTTPS", "data": ORDER_V1},
    )
    assert bad_field.status == 400, bad_field
    assert "application" in json.dumps(bad_field.body)

    anonymous = shop.as_team(None).request("GET", "/events")
    assert anonymous.status == 401, anonymous
    wrong_token = shop.as_team("not-a-token").request("GET", "/events")
    assert wrong_token.status in (401, 403), wrong_token


def test_stopping_leaves_no_process_behind(broker: LocalBroker) -> None:
    groups = broker.supervisor.groups()
    assert len(groups) == 3  # moto, portal, generator worker
    assert broker.check_alive() == []
    broker.stop()
    assert [group_members(group) for group in groups] == [[], [], []]
    assert all(not managed.running() for managed in broker.processes.values())
    logs = sorted(path.name for path in Path(broker.settings.workdir, "logs").iterdir())
    assert logs == ["generator.log", "moto.log", "portal.log"]
