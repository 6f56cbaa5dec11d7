"""``build_graph``: the pure part of ``GET /graph``."""

from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.records import EventRecord, SubscriptionRecord
from chalicelib.services.graph import build_graph

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def event(name: str, application: str) -> EventRecord:
    return EventRecord(
        event_type=name,
        application=application,
        owner="shop-team",
        connection_type="HTTPS",
        latest_version=2,
        created_at=NOW,
        updated_at=NOW,
    )


def subscription(name: str, version: int, team: str = "billing-team", target: str = "billing") -> SubscriptionRecord:
    return SubscriptionRecord(
        subscription_id=f"sub-{name}-{version}-{team}",
        event_type=name,
        version=version,
        team=team,
        target_unit=target,
        connection_type="SQS",
        connection_string="arn:aws:sqs:eu-west-1:123456789012:q",
        created_at=NOW,
        deployment_id="dep-0123456789abcdef",
    )


def test_one_consumer_of_two_versions_is_one_node_and_one_edge() -> None:
    graph = build_graph([(event("order", "shop"), [subscription("order", 1), subscription("order", 2)])])
    assert [node.id for node in graph.nodes] == ["application:shop", "event:order", "consumer:billing-team/billing/SQS"]
    assert [(edge.from_, edge.to) for edge in graph.edges] == [
        ("application:shop", "event:order"),
        ("event:order", "consumer:billing-team/billing/SQS"),
    ]


def test_shared_producers_and_consumers_appear_once() -> None:
    graph = build_graph(
        [
            (event("order", "shop"), [subscription("order", 1)]),
            (event("refund", "shop"), [subscription("refund", 1), subscription("refund", 1, "crm-team", "crm")]),
        ]
    )
    kinds = [node.kind for node in graph.nodes]
    assert kinds == ["application", "event", "event", "consumer", "consumer"]
    assert len(graph.edges) == 5
    assert graph.model_dump(by_alias=True)["edges"][0] == {"from": "application:shop", "to": "event:order"}
