"""What the loser of a race sees: two requests pass their checks, the winner commits first.

Each test lets the winner's whole request run between the loser's checks and the loser's commit (the
loser's catalog transaction is the first call to its ``commit_*`` method), so only the transaction's
conditions can stop the loser. The loser must get the same answer as if it had come second, and
nothing of its change may be stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from app import app
from chalice.test import Client
from chalicelib import container
from chalicelib.aws.guards import CatalogGuards
from chalicelib.services.backend import Backend
from chalicelib.settings import PortalSettings, RegistryMode

from broker_contract.config import Quotas
from tests.functional.portal.conftest import (
    BILLING,
    LAMBDA_ARN,
    ORDER_DATA,
    OTHER,
    SHOP,
    TEAMS,
    TOKENS,
    body,
    create_event,
    s3_keys,
    subscribe,
)

pytestmark = pytest.mark.usefixtures("no_unhandled")

SUBSCRIPTION = {
    "event_type": "order-created",
    "version": 1,
    "target_unit": "billing",
    "connection_type": "LAMBDA",
    "connection_string": LAMBDA_ARN,
}


def winner_commits_first(
    monkeypatch: pytest.MonkeyPatch, target: object, commit: str, winner: Callable[[], object]
) -> dict[str, Any]:
    """Run ``winner`` just before the next call of ``target.<commit>``; the returned dict gets its result."""
    original = getattr(target, commit)
    outcome: dict[str, Any] = {}

    def after_the_winner(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(target, commit, original)  # the winner's own commit goes through
        outcome["winner"] = winner()
        return original(*args, **kwargs)

    monkeypatch.setattr(target, commit, after_the_winner)
    return outcome


def rules_used(backend: Backend) -> int:
    return CatalogGuards.over(backend.catalog).usage(["rules"])["rules"]


def subscription_ids(backend: Backend) -> list[str]:
    return sorted(sub.subscription_id for sub in backend.catalog.subscriptions_of_event("order-created"))


def consumer_files(backend: Backend) -> int:
    return len(s3_keys(backend, backend.config.consumer_bucket_name))


def test_the_second_of_two_racing_identical_subscriptions_is_409_naming_the_first(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_event(client)
    race = winner_commits_first(monkeypatch, backend.catalog, "commit_subscription", lambda: subscribe(client, OTHER))
    lost = client.http.post("/subscriptions", headers=BILLING, body=body(SUBSCRIPTION))
    first = race["winner"]["subscription_id"]
    assert lost.status_code == 409, lost.json_body
    assert lost.json_body["error"]["message"] == f"the same subscription exists already: {first}"
    assert subscription_ids(backend) == [first]
    assert backend.catalog.get_version("order-created", 1).subscription_count == 1  # type: ignore[union-attr]
    assert (rules_used(backend), consumer_files(backend)) == (1, 1)


def test_subscribing_to_a_version_deleted_meanwhile_is_404(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_event(client, compatibility_mode="NONE")
    changed = client.http.put("/events/order-created", headers=SHOP, body=body({"data": {"type": "object"}}))
    assert changed.json_body["version"] == 2
    race = winner_commits_first(
        monkeypatch,
        backend.catalog,
        "commit_subscription",
        lambda: client.http.delete("/events/order-created/versions/2", headers=SHOP),
    )
    lost = client.http.post("/subscriptions", headers=BILLING, body=body({**SUBSCRIPTION, "version": 2}))
    assert race["winner"].status_code == 200
    assert lost.status_code == 404, lost.json_body
    assert lost.json_body["error"]["message"] == "event type 'order-created' has no version 2"
    assert backend.catalog.get_version("order-created", 2) is None
    assert (subscription_ids(backend), rules_used(backend), consumer_files(backend)) == ([], 0, 0)


def test_the_last_rule_taken_by_a_concurrent_subscription_is_409_naming_the_quota(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 3 rules on the bus, one is the archive's: two subscriptions fit
    settings = PortalSettings(
        tokens=TOKENS, registry_mode=RegistryMode.LOCAL, teams=TEAMS, quotas=Quotas(rules_per_event_bus=3)
    )
    container.install(container.Services.over(backend, settings))
    with Client(app) as client:
        create_event(client)
        subscribe(client, target_unit="one")
        race = winner_commits_first(
            monkeypatch, backend.catalog, "commit_subscription", lambda: subscribe(client, target_unit="two")
        )
        lost = client.http.post("/subscriptions", headers=BILLING, body=body({**SUBSCRIPTION, "target_unit": "three"}))
    container.reset()
    assert lost.status_code == 409, lost.json_body
    error = lost.json_body["error"]
    assert error["message"] == (
        "quota rules_per_event_bus reached: all 2 taken by a concurrent change, this change needs 1 more "
        "(rules on the event bus (one per subscription))"
    )
    assert error["details"][0]["field"] == "quotas.rules_per_event_bus"
    assert race["winner"]["target_unit"] == "two"
    assert (len(subscription_ids(backend)), rules_used(backend), consumer_files(backend)) == (2, 2, 2)


def test_an_event_type_created_concurrently_is_409_for_the_second_team(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner_commits_first(
        monkeypatch,
        backend.catalog,
        "commit_new_event",
        lambda: create_event(client, headers=BILLING, application="billing"),
    )
    lost = client.http.post("/events", headers=SHOP, body=body(_event(application="shop")))
    assert lost.status_code == 409, lost.json_body
    assert lost.json_body["error"]["message"] == "event type 'order-created' exists already; change it with PUT"
    event = backend.catalog.get_event("order-created")
    assert event is not None and event.owner == "billing-team"
    # the loser's application claim went with its transaction
    assert CatalogGuards.over(backend.catalog).application_owner("shop") is None


def test_an_application_claimed_meanwhile_by_another_team_is_403_naming_it(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner_commits_first(
        monkeypatch,
        backend.catalog,
        "commit_new_event",
        lambda: create_event(client, "refund-issued", headers=BILLING, application="shop"),
    )
    lost = client.http.post("/events", headers=SHOP, body=body(_event(application="shop")))
    assert lost.status_code == 403, lost.json_body
    error = lost.json_body["error"]
    assert error["message"].startswith("team may not register events under application 'shop': ")
    assert (
        "application shop belongs to team billing-team (it registered the first event under it)"
        in (error["details"][0]["rule"])
    )
    assert error["details"][0]["field"] == "application"
    assert backend.catalog.get_event("order-created") is None


def test_a_subscription_changed_concurrently_is_409_and_the_first_change_stays(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_event(client)
    sub = subscribe(client)["subscription_id"]

    def first_change() -> Any:
        return client.http.patch(f"/subscriptions/{sub}", headers=BILLING, body=body({"retry_attempts": 5}))

    race = winner_commits_first(monkeypatch, backend.catalog, "replace_subscription", first_change)
    lost = client.http.patch(f"/subscriptions/{sub}", headers=BILLING, body=body({"retry_attempts": 7}))
    assert race["winner"].status_code == 200
    assert lost.status_code == 409, lost.json_body
    assert lost.json_body["error"]["message"] == f"subscription {sub} changed concurrently; read it again and retry"
    assert backend.catalog.get_subscription(sub).retry_attempts == 5  # type: ignore[union-attr]


def test_a_subscription_deleted_twice_at_once_is_removed_once(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_event(client)
    sub = subscribe(client)["subscription_id"]
    race = winner_commits_first(
        monkeypatch,
        backend.catalog,
        "commit_unsubscribe",
        lambda: client.http.delete(f"/subscriptions/{sub}", headers=BILLING),
    )
    lost = client.http.delete(f"/subscriptions/{sub}", headers=BILLING)
    assert race["winner"].status_code == 200
    assert lost.status_code == 409, lost.json_body
    assert lost.json_body["error"]["message"] == f"subscription {sub} changed concurrently; retry"
    # given back once, not twice
    assert (subscription_ids(backend), rules_used(backend)) == ([], 0)
    assert backend.catalog.get_version("order-created", 1).subscription_count == 0  # type: ignore[union-attr]


def test_deleting_an_event_type_while_a_subscription_arrives_is_409_and_keeps_both(
    client: Client, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_event(client)
    race = winner_commits_first(monkeypatch, backend.catalog, "commit_retire", lambda: subscribe(client))
    lost = client.http.delete("/events/order-created", headers=SHOP)
    assert lost.status_code == 409, lost.json_body
    assert lost.json_body["error"]["message"] == (
        "event type 'order-created' changed concurrently (new version or subscription); read it again and retry"
    )
    assert backend.catalog.get_event("order-created") is not None
    assert subscription_ids(backend) == [race["winner"]["subscription_id"]]


def _event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_type": "order-created",
        "description": "An order was placed",
        "connection_type": "HTTPS",
        "data": ORDER_DATA,
        **overrides,
    }
