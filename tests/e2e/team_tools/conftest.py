"""One local broker for the catalog-page and CLI tests, seeded with two teams' events and subscriptions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_mode.broker import LocalBroker
from local_mode.client import PortalClient
from local_mode.terraform import TerraformDecision
from local_mode.walkthrough import BILLING_TOKEN, SHOP_TOKEN
from tests.e2e.conftest import CoreSeed

REPO = Path(__file__).resolve().parents[3]
#: further fields may only be strings: with the default ``additionalProperties`` (anything), old writers may already
#: send ``currency`` with another type, so declaring it would not be backward compatible
ORDER_V1: dict[str, Any] = {
    "type": "object",
    "properties": {"order_id": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
    "required": ["order_id", "amount"],
    "additionalProperties": {"type": "string"},
}
#: v2 declares the optional string field v1 already allowed: compatible both ways (the default FORWARD mode too)
ORDER_V2: dict[str, Any] = {
    **ORDER_V1,
    "properties": {**ORDER_V1["properties"], "currency": {"type": "string"}},
}
#: v3 narrows currency and tightens amount: backward breaking, still forward compatible (so FORWARD accepts it)
ORDER_V3: dict[str, Any] = {
    **ORDER_V1,
    "properties": {
        "order_id": {"type": "string"},
        "amount": {"type": "number", "minimum": 1},
        "currency": {"type": "string", "enum": ["EUR"]},
    },
}
STOCK: dict[str, Any] = {"type": "object", "properties": {"sku": {"type": "string"}}, "required": ["sku"]}
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:billing-orders"
LAMBDA_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:billing-stock"


@dataclass
class Seeded:
    """The local broker and what the fixture registered on it."""

    broker: LocalBroker
    shop: PortalClient
    billing: PortalClient
    order_deployments: list[str]
    stock_deployment: str
    subscription_ids: list[str]
    subscription_deployments: list[str]

    @property
    def url(self) -> str:
        return self.broker.portal_url


def settle(portal: PortalClient, deployment_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """The deployment once the generator synthesized it (terraform is off in these tests)."""
    deadline = time.monotonic() + timeout
    while True:
        record = portal.call("GET", f"/deployments/{deployment_id}")
        if record["status"] != "pending" or time.monotonic() > deadline:
            return dict(record)
        time.sleep(0.3)


@pytest.fixture(scope="package")
def seeded(tmp_path_factory: pytest.TempPathFactory, core_seed: CoreSeed) -> Iterator[Seeded]:
    workdir = tmp_path_factory.mktemp("team-tools")
    settings = core_seed.settings(workdir, TerraformDecision(False, "catalog and CLI tests never run terraform"))
    broker = LocalBroker(settings)
    broker.start()
    try:
        shop = PortalClient(broker.portal_url, SHOP_TOKEN)
        billing = PortalClient(broker.portal_url, BILLING_TOKEN)
        order = [
            shop.call(
                "POST",
                "/events",
                {
                    "application": "webshop",
                    "event_type": "order_placed",
                    "description": "An order was placed in the web shop",
                    "connection_type": "HTTPS",
                    "data": ORDER_V1,
                },
            )["deployment_id"]
        ]
        for schema in (ORDER_V2, ORDER_V3):
            order.append(shop.call("PUT", "/events/order_placed", {"data": schema})["deployment_id"])
        stock = shop.call(
            "POST",
            "/events",
            {
                "application": "warehouse",
                "event_type": "stock_changed",
                "description": "The stock of an article changed",
                "connection_type": "SQS",
                "data": STOCK,
            },
        )["deployment_id"]
        subscriptions = [
            billing.call(
                "POST",
                "/subscriptions",
                {
                    "event_type": "order_placed",
                    "version": 2,
                    "target_unit": "billing",
                    "connection_type": "SQS",
                    "connection_string": QUEUE_ARN,
                },
            ),
            billing.call(
                "POST",
                "/subscriptions",
                {
                    "event_type": "stock_changed",
                    "version": 1,
                    "target_unit": "invoicing",
                    "connection_type": "LAMBDA",
                    "connection_string": LAMBDA_ARN,
                },
            ),
        ]
        yield Seeded(
            broker=broker,
            shop=shop,
            billing=billing,
            order_deployments=order,
            stock_deployment=stock,
            subscription_ids=[item["subscription_id"] for item in subscriptions],
            subscription_deployments=[item["deployment_id"] for item in subscriptions],
        )
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def test_output() -> Path:
    """Where screenshots go: ``$BROKER_TEST_OUTPUT`` or ``test-output/`` (git-ignored)."""
    import os  # noqa: PLC0415

    path = Path(os.environ.get("BROKER_TEST_OUTPUT") or REPO / "test-output")
    path.mkdir(parents=True, exist_ok=True)
    return path
