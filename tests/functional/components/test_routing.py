"""Routing for real: each synthesized rule pattern run through moto's EventBridge matcher."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from jsonschema import Draft4Validator
from moto.events.models import EventPattern

from broker_contract.examples import examples
from broker_contract.models import ConsumerDeployment, ProducerDeployment
from modules.consumers.pattern import consumer_event_pattern
from tests.functional.components.conftest import (
    ACCOUNT,
    REGION,
    TEMPLATE_TEXT,
    Synthesized,
    one,
    terraform_template_text,
)

pytestmark = pytest.mark.xdist_group("components")


def event(source: str, detail_type: str, target: str, data: dict[str, Any]) -> Any:
    """A full EventBridge event whose detail is a broker envelope."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2026-11-25T09:30:00Z",
        "region": REGION,
        "resources": [],
        "detail": {"metadata": {"event_attributes": {"source": source, "target": target}}, "data": data},
    }


ORDER = {"order_id": "o-1", "amount": 120, "currency": "EUR"}
PAYMENT = {"payment_id": "p-1", "status": "settled"}


def matcher(synthesized: dict[str, Synthesized], name: str) -> EventPattern:
    """The rule's pattern as EventBridge gets it: after Terraform read the synthesized string."""
    stored = one(synthesized[name].json, "aws_cloudwatch_event_rule")["event_pattern"]
    return EventPattern.load(terraform_template_text(stored))


def with_data(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = copy.deepcopy(base)
    changed.update(changes)
    return changed


def test_sample_envelopes_are_valid_events_of_their_schema() -> None:
    """The events below are what the producers' endpoints would accept, so the routing tests are realistic."""
    producers = {d.event.event_type: d for d in examples().values() if isinstance(d, ProducerDeployment)}
    for event_type, source, data in (("order-created", "shop", ORDER), ("payment-settled", "payments", PAYMENT)):
        envelope = event(source, "x", "any-unit", data)["detail"]
        assert list(Draft4Validator(producers[event_type].envelope_schema).iter_errors(envelope)) == []


@pytest.mark.parametrize(
    ("name", "matching"),
    [
        ("consumer-lambda", event("shop", "order-created.1", "billing", ORDER)),
        ("consumer-sqs", event("shop", "order-created.1", "warehouse", with_data(ORDER, currency="USD"))),
        ("consumer-https", event("payments", "payment-settled.2", "crm", PAYMENT)),
        ("consumer-lambda-numeric-filter", event("shop", "order-created.1", "audit", ORDER)),
        ("consumer-https-template-text", event("payments", "payment-settled.2", "crm", {"note": TEMPLATE_TEXT})),
        (
            "consumer-lambda-prefix-filter",
            event("shop", "order-created.1", "vip-desk", with_data(ORDER, order_id="vip-7", amount=500)),
        ),
        (
            "consumer-lambda-escaping-filter",
            event(
                "shop",
                "order-created.1",
                "audit",
                with_data(ORDER, metadata={"event_attributes": {"target": "billing"}}, source="shop"),
            ),
        ),
    ],
)
def test_the_subscribed_consumer_gets_the_event(synthesized: dict[str, Synthesized], name: str, matching: Any) -> None:
    assert matcher(synthesized, name).matches_event(matching) is True


@pytest.mark.parametrize(
    ("name", "other", "why"),
    [
        ("consumer-lambda", event("shop", "order-created.1", "warehouse", ORDER), "another target unit"),
        ("consumer-lambda", event("shop", "order-created.2", "billing", ORDER), "another version"),
        ("consumer-lambda", event("other-app", "order-created.1", "billing", ORDER), "another source"),
        ("consumer-lambda", event("shop", "order-created.1", "billing", with_data(ORDER, currency="USD")), "filter"),
        ("consumer-sqs", event("shop", "order-created.1", "billing", ORDER), "another target unit"),
        ("consumer-sqs", event("shop", "payment-settled.2", "warehouse", PAYMENT), "another event type"),
        ("consumer-https", event("payments", "payment-settled.1", "crm", PAYMENT), "another version"),
        ("consumer-https", event("shop", "payment-settled.2", "crm", PAYMENT), "another source"),
        ("consumer-lambda-numeric-filter", event("shop", "order-created.1", "audit", with_data(ORDER, amount=99)), ""),
        (
            "consumer-lambda-prefix-filter",
            event("shop", "order-created.1", "vip-desk", with_data(ORDER, order_id="o-vip-7")),
            "prefix is the start of the value",
        ),
        (
            "consumer-lambda-prefix-filter",
            event("shop", "order-created.1", "vip-desk", with_data(ORDER, order_id="vip-7", amount=10)),
            "numeric lower bound is exclusive",
        ),
        (
            "consumer-lambda-prefix-filter",
            event("shop", "order-created.1", "vip-desk", with_data(ORDER, order_id="vip-7", amount=501)),
            "numeric upper bound",
        ),
        (
            "consumer-lambda-prefix-filter",
            event("shop", "order-created.1", "billing", with_data(ORDER, order_id="vip-7")),
            "the filter narrows the target unit, never widens it",
        ),
        (
            "consumer-lambda-escaping-filter",
            event("shop", "order-created.1", "billing", ORDER),
            "a filter on metadata cannot reach the envelope's metadata: addressed to billing, not audit",
        ),
        (
            "consumer-lambda-escaping-filter",
            event(
                "shop",
                "order-created.1",
                "billing",
                with_data(ORDER, metadata={"event_attributes": {"target": "billing"}}, source="shop"),
            ),
            "still addressed to billing",
        ),
        (
            "consumer-lambda-escaping-filter",
            event("shop", "order-created.1", "audit", ORDER),
            "the data has no metadata.event_attributes.target nor source",
        ),
    ],
)
def test_other_events_do_not_reach_the_consumer(
    synthesized: dict[str, Synthesized], name: str, other: Any, why: str
) -> None:
    assert matcher(synthesized, name).matches_event(other) is False, why


def test_an_event_reaches_exactly_the_subscriptions_it_is_addressed_to(synthesized: dict[str, Synthesized]) -> None:
    consumers = [name for name, built in synthesized.items() if isinstance(built.deployment, ConsumerDeployment)]
    sent = event("shop", "order-created.1", "billing", ORDER)
    reached = sorted(name for name in consumers if matcher(synthesized, name).matches_event(sent))
    # both billing subscriptions (the cross-account one shares the example's filter), nobody else
    assert reached == ["consumer-lambda", "consumer-lambda-cross-account"]


def test_a_content_filter_only_ever_looks_under_detail_data(synthesized: dict[str, Synthesized]) -> None:
    stored = json.loads(
        one(synthesized["consumer-lambda-escaping-filter"].json, "aws_cloudwatch_event_rule")["event_pattern"]
    )
    assert stored == {
        "source": ["shop"],
        "detail-type": ["order-created.1"],
        "detail": {
            "metadata": {"event_attributes": {"target": ["audit"]}},
            "data": {"metadata": {"event_attributes": {"target": ["billing"]}}, "source": ["shop"]},
        },
    }


def test_the_rule_stores_the_pattern_of_consumer_event_pattern(synthesized: dict[str, Synthesized]) -> None:
    deployment = synthesized["consumer-lambda"].deployment
    assert isinstance(deployment, ConsumerDeployment)
    stored = json.loads(one(synthesized["consumer-lambda"].json, "aws_cloudwatch_event_rule")["event_pattern"])
    assert stored == consumer_event_pattern(deployment)
