"""Listing cost does not grow with the catalog: every listing is one Query with a page ``Limit``, never a Scan."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from app import app
from chalice.test import Client
from chalicelib import container
from chalicelib.aws.catalog import CatalogRepository
from chalicelib.services.backend import Backend
from chalicelib.settings import PortalSettings, RegistryMode

from broker_contract.catalog import BY_APPLICATION, BY_LISTING, BY_TEAM, Index
from tests.functional.portal.conftest import BILLING, SHOP, TEAMS, TOKENS, create_event, subscribe

pytestmark = pytest.mark.usefixtures("no_unhandled")


class RecordingClient:
    """Forwards to the DynamoDB client and records the name and arguments of every call."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def record(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(**kwargs)

        return record


@pytest.fixture
def recorder(backend: Backend) -> Iterator[RecordingClient]:
    recording = RecordingClient(backend.catalog.client)
    watched = dataclasses.replace(backend, catalog=CatalogRepository(backend.catalog.table_name, lambda: recording))
    container.install(
        container.Services.over(watched, PortalSettings(tokens=TOKENS, registry_mode=RegistryMode.LOCAL, teams=TEAMS))
    )
    yield recording
    container.reset()


@pytest.fixture
def watched_client(recorder: RecordingClient) -> Iterator[Client]:
    with Client(app) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("query", "index", "partition", "prefix"),
    [
        ("limit=2", BY_LISTING, "EVENTS", None),
        ("limit=2&application=shop", BY_APPLICATION, "APPLICATION#shop", None),
        ("limit=2&owner=shop-team", BY_TEAM, "TEAM#shop-team", "EVENT#"),
    ],
)
def test_each_listing_page_is_one_limited_query_on_an_index(
    watched_client: Client,
    recorder: RecordingClient,
    query: str,
    index: Index,
    partition: str,
    prefix: str | None,
) -> None:
    for number in range(5):
        create_event(watched_client, event_type=f"event-{number}", connection_type="SQS")
    subscribe(watched_client, event_type="event-0", headers=SHOP)  # the team index holds subscriptions too
    recorder.calls.clear()
    first = watched_client.http.get(f"/events?{query}", headers=BILLING).json_body
    second = watched_client.http.get(f"/events?{query}&cursor={first['next_cursor']}", headers=BILLING).json_body
    assert [item["event_type"] for item in first["items"] + second["items"]] == [f"event-{n}" for n in range(4)]
    assert [name for name, _ in recorder.calls] == ["query", "query"]
    for _, arguments in recorder.calls:
        assert arguments["IndexName"] == index.name
        assert arguments["Limit"] == 2
        assert arguments["ExpressionAttributeValues"][":pk"] == {"S": partition}
        if prefix is None:
            assert "begins_with" not in arguments["KeyConditionExpression"]
        else:
            assert arguments["ExpressionAttributeValues"][":sk"] == {"S": prefix}
    assert "ExclusiveStartKey" not in recorder.calls[0][1]
    # the second page starts after the first page's last item, within the same index partition
    start = recorder.calls[1][1]["ExclusiveStartKey"]
    assert (start[index.partition_key], start[index.sort_key]) == (
        {"S": partition},
        {"S": "EVENT#event-1" if index is BY_TEAM else "event-1"},
    )


def test_subscription_listing_is_one_limited_query(watched_client: Client, recorder: RecordingClient) -> None:
    create_event(watched_client)
    subscribe(watched_client)
    recorder.calls.clear()
    page = watched_client.http.get("/subscriptions?limit=3", headers=BILLING).json_body
    assert len(page["items"]) == 1
    [(name, arguments)] = recorder.calls
    assert (name, arguments["IndexName"], arguments["Limit"]) == ("query", "by-team", 3)
    assert arguments["ExpressionAttributeValues"] == {":pk": {"S": "TEAM#billing-team"}, ":sk": {"S": "SUBSCRIPTION#"}}
