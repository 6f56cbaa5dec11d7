"""``GET /graph``: producer applications -> event types -> consumers, for the catalog pages and the CLI.

The graph names only what every team may already read through ``GET /events`` (applications, event types)
and who consumes them (team, target unit, connection type): no ARN, queue URL or endpoint is in it, so any
authenticated team may read it.

Cost: one event reads its catalog partition and its subscriptions listing (two Queries); the whole catalog
reads the events listing, then one subscriptions Query per event (1 + N Queries, never a Scan).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from broker_contract.catalog import BY_LISTING
from chalicelib.errors import not_found
from chalicelib.records import EVENTS_PARTITION, EventRecord, SubscriptionRecord
from chalicelib.services.backend import Backend

NodeKind = Literal["application", "event", "consumer"]


class GraphNode(BaseModel):
    """An application (producer), an event type or a consumer (team, target unit, connection type)."""

    id: str = Field(description="stable within one answer: 'application:<name>', 'event:<type>', 'consumer:...'")
    kind: NodeKind
    label: str


class GraphEdge(BaseModel):
    """``from`` produces (application -> event) or is consumed by (event -> consumer) ``to``."""

    from_: str = Field(alias="from")
    to: str

    model_config = {"populate_by_name": True}


class Graph(BaseModel):
    """Nodes sorted by kind then label; edges sorted; no duplicates."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]


_KIND_ORDER = {"application": 0, "event": 1, "consumer": 2}


def application_node(application: str) -> GraphNode:
    return GraphNode(id=f"application:{application}", kind="application", label=application)


def event_node(event_type: str) -> GraphNode:
    return GraphNode(id=f"event:{event_type}", kind="event", label=event_type)


def consumer_node(subscription: SubscriptionRecord) -> GraphNode:
    identity = f"{subscription.team}/{subscription.target_unit}/{subscription.connection_type}"
    return GraphNode(
        id=f"consumer:{identity}",
        kind="consumer",
        label=f"{subscription.team}/{subscription.target_unit} ({subscription.connection_type})",
    )


def build_graph(events: list[tuple[EventRecord, list[SubscriptionRecord]]]) -> Graph:
    """The graph of ``events`` and their subscriptions (pure: no I/O)."""
    nodes: dict[str, GraphNode] = {}
    edges: set[tuple[str, str]] = set()
    for event, subscriptions in events:
        producer = application_node(event.application)
        node = event_node(event.event_type)
        nodes[producer.id] = producer
        nodes[node.id] = node
        edges.add((producer.id, node.id))
        for subscription in subscriptions:
            consumer = consumer_node(subscription)
            nodes[consumer.id] = consumer
            edges.add((node.id, consumer.id))
    return Graph(
        nodes=sorted(nodes.values(), key=lambda item: (_KIND_ORDER[item.kind], item.label, item.id)),
        edges=[GraphEdge(from_=start, to=end) for start, end in sorted(edges)],
    )


class GraphService:
    """Reads the catalog into a ``Graph``; ``event_type`` narrows it to one event."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def graph(self, event_type: str | None) -> Graph:
        catalog = self.backend.catalog
        if event_type is not None:
            event = catalog.get_event(event_type)
            if event is None:
                raise not_found(f"event type {event_type!r} not found")
            return build_graph([(event, catalog.subscriptions_of_event(event_type))])
        events = [EventRecord.model_validate(item) for item in catalog.query_all(EVENTS_PARTITION, index=BY_LISTING)]
        return build_graph([(event, catalog.subscriptions_of_event(event.event_type)) for event in events])
