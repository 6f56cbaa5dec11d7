"""The deployment store on the catalog table (``broker_contract.deployment_store``'s real implementation).

Talks to an injected low-level DynamoDB client, built on first use by ``client_factory`` (so moto is active
before any client exists), and is the only place that reads DynamoDB's error codes for deployment records,
component claims and the generator's queue-policy locks: a lost condition becomes a domain exception.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from broker_contract.catalog import component_key, deployment_key, queue_policy_lock_key
from broker_contract.deployment_store import (
    Claim,
    ClaimOutcome,
    DeploymentExists,
    LeaseHeld,
    StatusUpdate,
    TransitionRefused,
)
from broker_contract.dynamo_items import deserialize, serialize
from broker_contract.lazy_client import LazyClient
from broker_contract.models import ALLOWED_FROM, DeploymentStatus
from broker_contract.records import DeploymentRecord, utc_now

_CONDITION_FAILED = "ConditionalCheckFailedException"


def _written(write: Callable[..., Any], **request: Any) -> bool:
    """Run one conditional write (``put_item``, ``update_item``, ``delete_item``); False when its condition failed."""
    try:
        write(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
            return False
        raise
    return True


class DynamoDBDeploymentStore(LazyClient):
    """``broker_contract.deployment_store.DeploymentStore`` on the catalog table (a low-level DynamoDB client).

    ``client_factory`` builds the client on first use; ``clock`` is now in UTC (leases, ``updated_at``).
    """

    def __init__(
        self, table_name: str, client_factory: Callable[[], Any], *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        super().__init__(client_factory)
        self.table_name = table_name
        self.clock = clock

    def _get(self, key: dict[str, str], *attributes: str) -> dict[str, Any] | None:
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Key": serialize(key), "ConsistentRead": True}
        if attributes:
            kwargs["ProjectionExpression"] = ", ".join(f"#a{index}" for index in range(len(attributes)))
            kwargs["ExpressionAttributeNames"] = {f"#a{index}": name for index, name in enumerate(attributes)}
        item = self.client.get_item(**kwargs).get("Item")
        return deserialize(item) if item else None

    def _update(self, key: dict[str, str], **kwargs: Any) -> bool:
        """A conditional ``UpdateItem``; False when its condition failed."""
        if "ExpressionAttributeValues" in kwargs:
            kwargs["ExpressionAttributeValues"] = serialize(kwargs["ExpressionAttributeValues"])
        return _written(self.client.update_item, TableName=self.table_name, Key=serialize(key), **kwargs)

    def reserve_sequence(self, component_id: str) -> int:
        response = self.client.update_item(
            TableName=self.table_name,
            Key=serialize(component_key(component_id)),
            UpdateExpression="ADD next_sequence :one SET component_id = :component",
            ExpressionAttributeValues=serialize({":one": 1, ":component": component_id}),
            ReturnValues="UPDATED_NEW",
        )
        return int(deserialize(response["Attributes"])["next_sequence"])

    def create(self, record: DeploymentRecord) -> None:
        created = _written(
            self.client.put_item,
            TableName=self.table_name,
            Item=serialize(record.to_item()),
            ConditionExpression="attribute_not_exists(pk)",
        )
        if not created:
            raise DeploymentExists(record.deployment_id)

    def create_pending(self, record: DeploymentRecord) -> DeploymentRecord:
        try:
            self.create(record)
        except DeploymentExists:
            existing = self.get(record.deployment_id)
            if existing is None:  # created and deleted in between: nothing in the broker deletes records
                raise
            return existing
        return record

    def get(self, deployment_id: str) -> DeploymentRecord | None:
        item = self._get(deployment_key(deployment_id))
        return DeploymentRecord.from_item(item) if item else None

    def status(self, deployment_id: str) -> DeploymentStatus | None:
        item = self._get(deployment_key(deployment_id), "status")
        return DeploymentStatus(item["status"]) if item and "status" in item else None

    def _handled(self, component_id: str) -> dict[str, Any]:
        return self._get(component_key(component_id), "handled_sequence", "handled_deployment_id") or {}

    def claim(self, component_id: str, sequence: int, deployment_id: str, at: datetime | None = None) -> Claim:
        claimed = self._update(
            component_key(component_id),
            UpdateExpression="SET handled_sequence = :seq, handled_deployment_id = :id, handled_at = :now",
            ConditionExpression="attribute_not_exists(handled_sequence) OR handled_sequence < :seq",
            ExpressionAttributeValues={
                ":seq": sequence,
                ":id": deployment_id,
                ":now": (at or self.clock()).isoformat(),
            },
        )
        if claimed:
            return Claim(ClaimOutcome.CLAIMED, sequence)
        item = self._handled(component_id)
        handled = int(item.get("handled_sequence", 0))
        same = handled == sequence and item.get("handled_deployment_id") == deployment_id
        return Claim(ClaimOutcome.SAME_FILE if same else ClaimOutcome.SUPERSEDED, handled)

    def newer_sequence(self, component_id: str, sequence: int) -> int | None:
        handled = int(self._handled(component_id).get("handled_sequence", 0))
        return handled if handled > sequence else None

    def take_lease(self, deployment_id: str, owner: str, seconds: float) -> None:
        now = self.clock()
        taken = self._update(
            deployment_key(deployment_id),
            UpdateExpression="SET lease_owner = :me, lease_expires_at = :until",
            ConditionExpression=(
                "attribute_not_exists(lease_expires_at) OR lease_expires_at < :now OR lease_owner = :me"
            ),
            ExpressionAttributeValues={
                ":me": owner,
                ":now": now.isoformat(),
                ":until": (now + timedelta(seconds=seconds)).isoformat(),
            },
        )
        if not taken:
            raise LeaseHeld(deployment_id)

    def release_lease(self, deployment_id: str, owner: str) -> None:
        self._update(
            deployment_key(deployment_id),
            UpdateExpression="REMOVE lease_owner, lease_expires_at",
            ConditionExpression="lease_owner = :me",
            ExpressionAttributeValues={":me": owner},
        )

    def transition(self, deployment_id: str, update: StatusUpdate) -> None:
        change = update.history_entry(self.clock())
        sets = [
            "#status = :status",
            "updated_at = :now",
            "history = list_append(if_not_exists(history, :empty), :change)",
        ]
        values: dict[str, Any] = {
            ":status": update.status.value,
            ":now": change["at"],
            ":change": [change],
            ":empty": [],
        }
        for name, value in update.recorded().items():
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = value
        if update.error is not None:
            sets.append("#error = :error")
            values[":error"] = update.error
        allowed = sorted(state.value for state in ALLOWED_FROM[update.status])
        values.update({f":from{index}": state for index, state in enumerate(allowed)})
        expression = "SET " + ", ".join(sets) + (" REMOVE #error" if update.error is None else "")
        condition = f"attribute_exists(pk) AND #status IN ({', '.join(f':from{i}' for i in range(len(allowed)))})"
        moved = self._update(
            deployment_key(deployment_id),
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status", "#error": "error"},
            ExpressionAttributeValues=values,
        )
        if not moved:
            raise TransitionRefused(deployment_id, update.status)


class QueuePolicyLocks(LazyClient):
    """The generator's locks on target queues' policies: items of the catalog with an owner and an expiry.

    SQS has no conditional write, so a read-modify-write of a queue's policy is serialized by this item;
    a lock whose ``expires_at`` (epoch seconds) has passed was left by a run that died and may be taken.
    """

    def __init__(self, table_name: str, client_factory: Callable[[], Any]) -> None:
        super().__init__(client_factory)
        self.table_name = table_name

    def try_acquire(self, queue_arn: str, owner: str, now: float, seconds: int) -> bool:
        """Take the lock of ``queue_arn`` until ``now + seconds``; False while another owner holds it."""
        return _written(
            self.client.put_item,
            TableName=self.table_name,
            Item=serialize({**queue_policy_lock_key(queue_arn), "owner": owner, "expires_at": int(now + seconds)}),
            ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
            ExpressionAttributeValues=serialize({":now": int(now)}),
        )

    def release(self, queue_arn: str, owner: str) -> None:
        """Remove the lock if ``owner`` still holds it (after a takeover it is no longer ours to remove)."""
        _written(
            self.client.delete_item,
            TableName=self.table_name,
            Key=serialize(queue_policy_lock_key(queue_arn)),
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={"#owner": "owner"},
            ExpressionAttributeValues=serialize({":owner": owner}),
        )
