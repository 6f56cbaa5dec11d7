"""The deployment store: one set of tests, run against the in-memory fake and against DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from broker_contract.catalog import create_table_arguments, deployment_key
from broker_contract.deployment_store import (
    ClaimOutcome,
    DeploymentExists,
    DeploymentStore,
    InMemoryDeploymentStore,
    LeaseHeld,
    StatusUpdate,
    TransitionRefused,
)
from broker_contract.dynamo_items import serialize
from broker_contract.dynamodb_store import DynamoDBDeploymentStore
from broker_contract.models import ALLOWED_FROM, DeploymentAction, DeploymentStatus
from broker_contract.records import DeploymentRecord

S = DeploymentStatus
TABLE = "catalog"
REGION = "eu-west-1"
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(**create_table_arguments(TABLE))
        yield client


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest, clock: Clock) -> DeploymentStore:
    if request.param == "memory":
        return InMemoryDeploymentStore(clock=clock)
    client = request.getfixturevalue("dynamodb")
    return DynamoDBDeploymentStore(TABLE, lambda: client, clock=clock)


def pending(deployment_id: str = "dep-0000000000000001", sequence: int = 1, **changes: Any) -> DeploymentRecord:
    record = DeploymentRecord.pending(
        deployment_id=deployment_id,
        kind="producer",
        component_id="producer-order-created-v1",
        action=DeploymentAction.DEPLOY,
        sequence=sequence,
        requested_by="shop",
        requested_at=START,
        file_bucket="files",
        file_key=f"producer-order-created-v1/{sequence:010d}-{deployment_id}.json",
        event_type="order-created",
        version=1,
        at=START,
    )
    return record.model_copy(update=changes)


class TestRecords:
    def test_create_pending_is_idempotent_and_the_first_record_wins(self, store: DeploymentStore) -> None:
        first = pending(sequence=1)
        assert store.create_pending(first) == first
        # a second run of the same request reserved another sequence: it gets the stored record back
        assert store.create_pending(pending(sequence=2)) == first
        assert store.get(first.deployment_id) == first
        with pytest.raises(DeploymentExists):
            store.create(pending(sequence=3))

    def test_unknown_deployment(self, store: DeploymentStore) -> None:
        assert store.get("dep-00000000000000ff") is None
        assert store.status("dep-00000000000000ff") is None
        with pytest.raises(TransitionRefused):
            store.transition("dep-00000000000000ff", StatusUpdate(S.SYNTHESIZED))

    def test_sequences_count_per_component(self, store: DeploymentStore) -> None:
        assert [store.reserve_sequence("a"), store.reserve_sequence("a"), store.reserve_sequence("b")] == [1, 2, 1]


class TestTransitions:
    @pytest.mark.parametrize("before", list(S))
    def test_the_transition_table_is_enforced(self, store: DeploymentStore, before: DeploymentStatus) -> None:
        for index, after in enumerate(ALLOWED_FROM):
            record = pending(f"dep-{index:016x}", status=before)
            store.create(record)
            if before in ALLOWED_FROM[after]:
                store.transition(record.deployment_id, StatusUpdate(after))
                assert store.status(record.deployment_id) is after
            else:
                with pytest.raises(TransitionRefused):
                    store.transition(record.deployment_id, StatusUpdate(after))
                assert store.status(record.deployment_id) is before

    def test_finished_deployments_are_never_changed_again(self, store: DeploymentStore) -> None:
        for index, final in enumerate((S.DEPLOYED, S.DESTROYED, S.SUPERSEDED)):
            record = pending(f"dep-{index:016x}", status=final)
            store.create(record)
            for status in (S.FAILED, S.SYNTHESIZED, S.SUPERSEDED):
                with pytest.raises(TransitionRefused):
                    store.transition(record.deployment_id, StatusUpdate(status, error="late"))
            assert store.get(record.deployment_id) == record

    def test_a_deployment_through_its_life(self, store: DeploymentStore, clock: Clock) -> None:
        record = store.create_pending(pending())
        clock.advance(1)
        store.transition(record.deployment_id, StatusUpdate(S.FAILED, detail="boom", error="boom"))
        assert store.get(record.deployment_id).error == "boom"  # type: ignore[union-attr]
        clock.advance(1)
        store.transition(record.deployment_id, StatusUpdate(S.SYNTHESIZED, artifact_key="a/b/cdk.tf.json"))
        store.transition(record.deployment_id, StatusUpdate(S.APPLYING))
        store.transition(
            record.deployment_id, StatusUpdate(S.DEPLOYED, outputs={"queue_url": "https://q"}, instructions="do it")
        )
        stored = store.get(record.deployment_id)
        assert stored is not None
        assert (stored.status, stored.error, stored.artifact_key) == (S.DEPLOYED, None, "a/b/cdk.tf.json")
        assert (stored.outputs, stored.instructions) == ({"queue_url": "https://q"}, "do it")
        assert [(change.status, change.detail) for change in stored.history] == [
            (S.PENDING, None),
            (S.FAILED, "boom"),
            (S.SYNTHESIZED, None),
            (S.APPLYING, None),
            (S.DEPLOYED, None),
        ]
        assert stored.updated_at == START + timedelta(seconds=2)


class TestLeases:
    def test_a_live_lease_holds_off_other_runs(self, store: DeploymentStore, clock: Clock) -> None:
        record = store.create_pending(pending())
        store.take_lease(record.deployment_id, "run-a", 60)
        with pytest.raises(LeaseHeld):
            store.take_lease(record.deployment_id, "run-b", 60)
        store.take_lease(record.deployment_id, "run-a", 60)  # its holder renews it
        clock.advance(59)
        with pytest.raises(LeaseHeld):
            store.take_lease(record.deployment_id, "run-b", 60)

    def test_an_expired_lease_is_taken_over(self, store: DeploymentStore, clock: Clock) -> None:
        record = store.create_pending(pending())
        store.take_lease(record.deployment_id, "run-a", 60)
        clock.advance(61)
        store.take_lease(record.deployment_id, "run-b", 60)
        # the dead run's release does not free the new holder's lease
        store.release_lease(record.deployment_id, "run-a")
        with pytest.raises(LeaseHeld):
            store.take_lease(record.deployment_id, "run-c", 60)
        store.release_lease(record.deployment_id, "run-b")
        store.take_lease(record.deployment_id, "run-c", 60)


class TestClaims:
    def test_claims_order_a_components_files(self, store: DeploymentStore) -> None:
        component = "producer-order-created-v1"
        first = store.claim(component, 2, "dep-0000000000000002")
        assert (first.outcome, first.handled_sequence) == (ClaimOutcome.CLAIMED, 2)
        assert store.claim(component, 2, "dep-0000000000000002").outcome is ClaimOutcome.SAME_FILE
        older = store.claim(component, 1, "dep-0000000000000001")
        assert (older.outcome, older.handled_sequence) == (ClaimOutcome.SUPERSEDED, 2)
        assert store.newer_sequence(component, 1) == 2
        assert store.newer_sequence(component, 2) is None
        assert store.claim(component, 3, "dep-0000000000000003").outcome is ClaimOutcome.CLAIMED
        assert store.newer_sequence(component, 2) == 3
        # another component is ordered on its own
        assert store.claim("producer-other-v1", 1, "dep-0000000000000004").outcome is ClaimOutcome.CLAIMED


def test_records_stored_before_the_store_still_read(dynamodb: Any) -> None:
    """An item as the generator wrote it through the boto3 Table API (with a lease and a history) reads back."""
    record = pending(status=S.APPLYING, artifact_key="k")
    item = record.to_item()
    item.update(
        lease_owner="abc",
        lease_expires_at="2026-03-01T12:16:00+00:00",
        history=[
            {"status": "pending", "at": "2026-03-01T12:00:00+00:00"},
            {"status": "synthesized", "at": "2026-03-01T12:00:05.123456+00:00", "detail": "x"},
            {"status": "applying", "at": "2026-03-01T12:00:06+00:00"},
        ],
    )
    dynamodb.put_item(TableName=TABLE, Item=serialize(item))
    store = DynamoDBDeploymentStore(TABLE, lambda: dynamodb)
    stored = store.get(record.deployment_id)
    assert stored is not None
    assert (stored.status, stored.artifact_key, len(stored.history)) == (S.APPLYING, "k", 3)
    # and the attribute names the portal, the CLI and the generator read are unchanged
    raw = dynamodb.get_item(TableName=TABLE, Key=serialize(deployment_key(record.deployment_id)))["Item"]
    assert {"pk", "sk", "gsi1pk", "gsi1sk", "status", "history", "lease_owner", "lease_expires_at"} <= raw.keys()
