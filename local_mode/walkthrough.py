"""The demo scenario, driven over HTTP against the running portal, printing each step and its result.

shop-team registers an HTTPS event and an SQS event; billing-team subscribes a Lambda, a queue and an
HTTPS endpoint; the walk-through waits for the generator to handle every deployment, shows what each
generated stack contains, and which subscriptions two sample events would reach.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_mode.client import PortalClient
from local_mode.summary import Rule, describe, reached, rules, terraform_document

SHOP_TOKEN = "demo-shop-token"  # noqa: S105  (demo token shipped in demo_teams.json)
BILLING_TOKEN = "demo-billing-token"  # noqa: S105
ACCOUNT = "123456789012"

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "amount": {"type": "number", "minimum": 0},
        "currency": {"type": "string", "enum": ["EUR", "USD"]},
    },
    "required": ["order_id", "amount", "currency"],
    "additionalProperties": False,
}
STOCK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
    "required": ["sku", "quantity"],
}

EVENTS: list[dict[str, Any]] = [
    {
        "application": "webshop",
        "event_type": "order_placed",
        "connection_type": "HTTPS",
        "description": "An order was placed in the web shop",
        "data": ORDER_SCHEMA,
    },
    {
        "application": "warehouse",
        "event_type": "stock_changed",
        "connection_type": "SQS",
        "description": "The stock of an article changed",
        "data": STOCK_SCHEMA,
    },
]


def subscriptions(region: str) -> list[dict[str, Any]]:
    """billing-team's three subscriptions: a Lambda (EUR orders only), a queue, an HTTPS endpoint."""
    return [
        {
            "event_type": "order_placed",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "LAMBDA",
            "connection_string": f"arn:aws:lambda:{region}:{ACCOUNT}:function:billing-invoicer",
            "content_filter": {"currency": ["EUR"]},
        },
        {
            "event_type": "order_placed",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "SQS",
            "connection_string": f"arn:aws:sqs:{region}:{ACCOUNT}:billing-orders",
        },
        {
            "event_type": "stock_changed",
            "version": 1,
            "target_unit": "billing",
            "connection_type": "HTTPS",
            "connection_string": "https://billing.example.com/hooks/stock",
        },
    ]


def sample_event(source: str, event_type: str, target: str, data: dict[str, Any]) -> dict[str, Any]:
    """An event as EventBridge delivers it from the bus (envelope in ``detail``)."""
    return {
        "version": "0",
        "id": "00000000-0000-0000-0000-000000000000",
        "source": source,
        "detail-type": f"{event_type}.1",
        "account": ACCOUNT,
        "region": "eu-west-1",
        "time": "2024-01-01T00:00:00Z",
        "resources": [],
        "detail": {"metadata": {"event_attributes": {"source": source, "target": target}}, "data": data},
    }


SAMPLE_EVENTS: list[tuple[str, dict[str, Any]]] = [
    (
        "order o-1 in EUR",
        sample_event("webshop", "order_placed", "billing", {"order_id": "o-1", "amount": 42.5, "currency": "EUR"}),
    ),
    (
        "order o-2 in USD",
        sample_event("webshop", "order_placed", "billing", {"order_id": "o-2", "amount": 10, "currency": "USD"}),
    ),
    ("stock of sku-7", sample_event("warehouse", "stock_changed", "billing", {"sku": "sku-7", "quantity": 3})),
]

SETTLED = {"synthesized", "deployed", "destroyed", "failed", "superseded"}


@dataclass
class Outcome:
    """What the walk-through saw; the exit code of ``--once`` depends on ``failures``."""

    deployments: dict[str, str] = field(default_factory=dict)
    #: label -> deployment id, in the order the walk-through asked for them (the events first)
    deployment_ids: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    reached: dict[str, list[str]] = field(default_factory=dict)


Say = Callable[[str], None]


def wait_for(
    portals: dict[str, PortalClient],
    deployment_ids: dict[str, str],
    say: Say,
    timeout: float = 120.0,
    *,
    interval: float = 0.5,
    heartbeat: float = 5.0,
) -> dict[str, dict[str, Any]]:
    """Poll ``GET /deployments/{id}`` (as the team that asked, ``portals[label]``) until all settle.

    Prints a progress line whenever a status changes, and every ``heartbeat`` seconds while none does.
    """
    started = time.monotonic()
    records: dict[str, dict[str, Any]] = {}
    last = ""
    last_said = started
    while True:
        for label, deployment_id in deployment_ids.items():
            if records.get(label, {}).get("status") in SETTLED:
                continue
            response = portals[label].request("GET", f"/deployments/{deployment_id}")
            if response.ok and isinstance(response.body, dict):
                records[label] = response.body
        statuses = [records.get(label, {}).get("status", "pending") for label in deployment_ids]
        settled = sum(status in SETTLED for status in statuses)
        counts = Counter(statuses)
        line = f"  {settled}/{len(deployment_ids)} settled: " + ", ".join(
            f"{count} {status}" for status, count in counts.items()
        )
        now = time.monotonic()
        if line != last or now - last_said >= heartbeat:
            say(f"{line}  ({now - started:.0f} s)")
            last, last_said = line, now
        if settled == len(deployment_ids):
            return records
        if time.monotonic() - started > timeout:
            say(f"  gave up waiting after {timeout:.0f} s")
            return records
        time.sleep(interval)


def run(portal_url: str, region: str, say: Say = print, timeout: float = 120.0) -> Outcome:
    """The whole scenario; returns what it saw (failures listed, never raised for a failed deployment)."""
    outcome = Outcome()
    shop = PortalClient(portal_url, SHOP_TOKEN)
    billing = PortalClient(portal_url, BILLING_TOKEN)
    deployment_ids = outcome.deployment_ids
    owners: dict[str, PortalClient] = {}

    say("1. shop-team registers two events")
    for event in EVENTS:
        body = shop.call("POST", "/events", event)
        label = f"{event['event_type']}.v{body['version']}"
        deployment_ids[label] = body["deployment_id"]
        owners[label] = shop
        where = body.get("producer_endpoint_path") or "an SQS queue"
        say(f"   {event['connection_type']:5} {label}: producers send to {where}; deployment {body['deployment_id']}")

    say("2. billing-team subscribes a Lambda, a queue and an HTTPS endpoint")
    subscription_labels: dict[str, str] = {}
    for request in subscriptions(region):
        body = billing.call("POST", "/subscriptions", request)
        label = f"{request['connection_type'].lower()}->{request['event_type']}"
        subscription_labels[label] = body["subscription_id"]
        deployment_ids[label] = body["deployment_id"]
        owners[label] = billing
        extra = f" filter {json.dumps(request['content_filter'])}" if request.get("content_filter") else ""
        say(f"   {body['subscription_id']} {request['connection_type']:6} {request['connection_string']}{extra}")

    say("3. the generator handles the deployments")
    records = wait_for(owners, deployment_ids, say, timeout)
    for label, record in records.items():
        outcome.deployments[label] = str(record.get("status"))
        if record.get("status") == "failed" or record.get("status") not in SETTLED:
            outcome.failures.append(f"{label}: {record.get('status')} {record.get('error') or ''}".strip())

    say("4. what each generated stack contains (GET /deployments/{id}/terraform)")
    consumer_rules: list[tuple[str, Rule]] = []
    for label, deployment_id in deployment_ids.items():
        response = owners[label].request("GET", f"/deployments/{deployment_id}/terraform")
        if not response.ok:
            say(f"   {label}: no Terraform yet ({response.status} {response.error_message()})")
            continue
        stack = terraform_document(response.body)
        say(f"   {label}:")
        for line in describe(stack):
            say(f"     {line}")
        if label in subscription_labels:
            consumer_rules.extend((label, rule) for rule in rules(stack))

    say("5. which subscriptions sample events reach (EventBridge pattern matching)")
    if not consumer_rules:
        say("   no consumer stack was synthesized: nothing to match the sample events against")
        return outcome
    for description, event in SAMPLE_EVENTS:
        names = reached(event, consumer_rules)
        outcome.reached[description] = names
        say(f"   {description:18} -> {', '.join(names) if names else 'no subscription'}")
    return outcome
