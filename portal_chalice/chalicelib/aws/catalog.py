"""Typed access to the catalog table over an injected low-level DynamoDB client.

Every listing is a ``Query`` (on the table or one of its indexes); nothing here scans.
Multi-item changes go through ``TransactWriteItems`` with conditions, so concurrent writers
cannot lose one another's changes. Each write is built with the domain exception its failed
condition means (``Write``, exceptions in ``chalicelib.aws.conflicts``): the loser gets that
exception, never a ``ClientError`` nor DynamoDB's cancellation reasons.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from broker_contract.catalog import BY_LISTING, PARTITION_KEY, SORT_KEY, Index
from broker_contract.dynamo_items import deserialize, serialize
from broker_contract.lazy_client import LazyClient
from chalicelib.aws.conflicts import CatalogConflict, DuplicateSubscription, EventExists, LostUpdate, VersionMissing
from chalicelib.records import (
    INTENTS_PARTITION,
    EventRecord,
    IntentRecord,
    SubscriptionRecord,
    VersionRecord,
    dedupe_key,
    event_key,
    event_pk,
    event_subscriptions_partition,
    intent_key,
    subscription_key,
    version_key,
)


@dataclass(frozen=True)
class Write:
    """One write of a catalog transaction and the exception its failed condition means.

    ``lost`` is called only when the condition failed, after the transaction was cancelled, so it
    may read the item that won (the duplicate's id, the application's owner). A write without a
    condition (or one whose loss means nothing more precise) loses with ``LostUpdate``.
    """

    operation: dict[str, Any]
    lost: Callable[[], CatalogConflict] = LostUpdate


#: DynamoDB's cancellation code of a transaction item whose condition expression was false
_CONDITION_FAILED = "ConditionalCheckFailed"


@dataclass(frozen=True)
class Page:
    """One page of a Query: the items, the key to continue from, and what DynamoDB read."""

    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None
    scanned_count: int


class CatalogRepository(LazyClient):
    """The catalog table: events, versions, subscriptions, intents (deployments: the deployment store)."""

    def __init__(self, table_name: str, client_factory: Callable[[], Any]) -> None:
        self.table_name = table_name
        super().__init__(client_factory)

    # --- primitives -------------------------------------------------------------------------

    def _get(self, key: Mapping[str, str]) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, Key=serialize(key), ConsistentRead=True)
        item = response.get("Item")
        return deserialize(item) if item else None

    def query(
        self,
        partition_value: str,
        *,
        index: Index | None = None,
        sort_prefix: str | None = None,
        limit: int | None = None,
        start_key: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of items whose partition key is ``partition_value`` (table or ``index``)."""
        pk_name = index.partition_key if index else PARTITION_KEY
        sk_name = index.sort_key if index else SORT_KEY
        expression = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": partition_value}
        if sort_prefix is not None:
            expression += " AND begins_with(#sk, :sk)"
            names["#sk"] = sk_name
            values[":sk"] = sort_prefix
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
        }
        if index is not None:
            kwargs["IndexName"] = index.name
        else:
            kwargs["ConsistentRead"] = True
        if limit is not None:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = serialize(start_key)
        response = self.client.query(**kwargs)
        last = response.get("LastEvaluatedKey")
        return Page(
            [deserialize(item) for item in response.get("Items", [])],
            deserialize(last) if last else None,
            int(response.get("ScannedCount", 0)),
        )

    def query_all(
        self, partition_value: str, *, index: Index | None = None, sort_prefix: str | None = None
    ) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page = self.query(partition_value, index=index, sort_prefix=sort_prefix, start_key=start)
            items.extend(page.items)
            if page.last_key is None:
                return items
            start = page.last_key

    def transact(self, writes: Sequence[Write]) -> None:
        """Run ``TransactWriteItems``: all writes or none.

        When DynamoDB cancels it, raises the exception of the first write (in ``writes`` order) whose
        condition failed; ``LostUpdate`` when none did (a concurrent transaction held an item).
        """
        items = [
            {kind: {**body, "TableName": self.table_name} for kind, body in write.operation.items()} for write in writes
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            # DynamoDB reports one reason per item, in the order the items were sent
            reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons", [])]
            for write, reason in zip(writes, reasons, strict=False):
                if reason == _CONDITION_FAILED:
                    raise write.lost() from error
            raise LostUpdate(f"transaction cancelled: {reasons}") from error

    # --- events and versions ----------------------------------------------------------------

    def get_event(self, event_type: str) -> EventRecord | None:
        item = self._get(event_key(event_type))
        return EventRecord.model_validate(item) if item else None

    def get_event_with_versions(self, event_type: str) -> tuple[EventRecord | None, list[VersionRecord]]:
        """The event and all its versions, oldest first, with one Query on its partition."""
        items = self.query_all(event_pk(event_type))
        event: EventRecord | None = None
        versions: list[VersionRecord] = []
        for item in items:
            if item[SORT_KEY] == "META":
                event = EventRecord.model_validate(item)
            elif item[SORT_KEY].startswith("VERSION#"):
                versions.append(VersionRecord.from_item(item))
        return event, versions

    def get_version(self, event_type: str, version: int) -> VersionRecord | None:
        item = self._get(version_key(event_type, version))
        return VersionRecord.from_item(item) if item else None

    def commit_new_event(
        self, event: EventRecord, version: VersionRecord, intent: IntentRecord, extra: Sequence[Write] = ()
    ) -> None:
        """Create an event with its first version; ``EventExists`` when the event type exists.

        ``extra`` (quota counters, the application claim: ``chalicelib.aws.guards``) joins the transaction, last,
        and loses with its own exceptions (``QuotaExceeded``, ``ApplicationTaken``).
        """
        exists = _lost(EventExists(event.event_type))
        self.transact(
            [
                Write(_put(event.to_item(), "attribute_not_exists(pk)"), exists),
                Write(_put(version.to_item(), "attribute_not_exists(pk)"), exists),
                _new_intent(intent),
                *extra,
            ]
        )

    def commit_new_version(
        self,
        event: EventRecord,
        expected_revision: int,
        version: VersionRecord,
        intent: IntentRecord,
        extra: Sequence[Write] = (),
    ) -> None:
        """Store ``event`` (new latest version, revision + 1) only if its revision is still ``expected``.

        ``LostUpdate`` when another change came first; ``extra`` (quota counters) loses with its own exceptions.
        """
        self.transact(
            [
                Write(_put(event.to_item(), "revision = :expected", {":expected": expected_revision})),
                Write(_put(version.to_item(), "attribute_not_exists(pk)")),
                _new_intent(intent),
                *extra,
            ]
        )

    def replace_event(self, event: EventRecord, expected_revision: int) -> None:
        """Store ``event`` only if its revision is still ``expected_revision`` (description changes).

        ``LostUpdate`` when another change came first.
        """
        self.transact([Write(_put(event.to_item(), "revision = :expected", {":expected": expected_revision}))])

    def commit_retire(
        self,
        intent: IntentRecord,
        versions: Sequence[VersionRecord],
        event_change: tuple[EventRecord, int] | None,
        delete_event_revision: int | None,
        extra: Sequence[Write] = (),
    ) -> None:
        """Remove version items (each only while it has no subscriptions) and record the teardown intent.

        ``event_change`` stores the event with a new revision (a version removed); ``delete_event_revision``
        deletes the event item instead. Both are conditional on the revision read: ``LostUpdate`` when a
        version, a subscription or the event changed since.
        """
        writes = [
            Write(
                {
                    "Delete": {
                        "Key": serialize(version_key(version.event_type, version.version)),
                        "ConditionExpression": "attribute_exists(pk) AND subscription_count = :zero",
                        "ExpressionAttributeValues": serialize({":zero": 0}),
                    }
                }
            )
            for version in versions
        ]
        if event_change is not None:
            event, expected = event_change
            writes.append(Write(_put(event.to_item(), "revision = :expected", {":expected": expected})))
        if delete_event_revision is not None:
            writes.append(
                Write(
                    {
                        "Delete": {
                            "Key": serialize(event_key(intent.event_type)),
                            "ConditionExpression": "revision = :expected",
                            "ExpressionAttributeValues": serialize({":expected": delete_event_revision}),
                        }
                    }
                )
            )
        writes.append(_new_intent(intent))
        self.transact([*writes, *extra])

    def list_page(
        self,
        index: Index,
        partition_value: str,
        limit: int,
        start_key: Mapping[str, Any] | None,
        sort_prefix: str | None = None,
    ) -> Page:
        """One page of a listing index (``Limit`` bounds what DynamoDB reads, not only what it returns)."""
        return self.query(partition_value, index=index, sort_prefix=sort_prefix, limit=limit, start_key=start_key)

    # --- subscriptions ----------------------------------------------------------------------

    def get_subscription(self, subscription_id: str) -> SubscriptionRecord | None:
        item = self._get(subscription_key(subscription_id))
        return SubscriptionRecord.from_item(item) if item else None

    def find_duplicate(self, dedupe: str) -> str | None:
        item = self._get(dedupe_key(dedupe))
        return str(item["subscription_id"]) if item else None

    def subscriptions_of_event(self, event_type: str, version: int | None = None) -> list[SubscriptionRecord]:
        prefix = f"{version:010d}#" if version is not None else None
        items = self.query_all(event_subscriptions_partition(event_type), index=BY_LISTING, sort_prefix=prefix)
        return [SubscriptionRecord.from_item(item) for item in items]

    def commit_subscription(
        self, subscription: SubscriptionRecord, intent: IntentRecord, extra: Sequence[Write] = ()
    ) -> None:
        """Store a subscription, its duplicate guard and the +1 on its version's counter, atomically.

        ``DuplicateSubscription`` (naming the one that won) when the same subscription exists, ``VersionMissing``
        when its version is gone; ``extra`` (quota counters) loses with its own exceptions.
        """
        self.transact(
            [
                Write(_put(subscription.to_item(), "attribute_not_exists(pk)")),
                Write(
                    _put(
                        {**dedupe_key(subscription.dedupe_id), "subscription_id": subscription.subscription_id},
                        "attribute_not_exists(pk)",
                    ),
                    lambda: DuplicateSubscription(self.find_duplicate(subscription.dedupe_id)),
                ),
                Write(
                    {
                        "Update": {
                            "Key": serialize(version_key(subscription.event_type, subscription.version)),
                            "UpdateExpression": "ADD subscription_count :one",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": serialize({":one": 1}),
                        }
                    },
                    _lost(VersionMissing(subscription.event_type, subscription.version)),
                ),
                _new_intent(intent),
                *extra,
            ]
        )

    def commit_unsubscribe(
        self,
        subscription: SubscriptionRecord,
        intent: IntentRecord,
        tombstone: SubscriptionRecord | None = None,
        extra: Sequence[Write] = (),
    ) -> None:
        """Delete a subscription and its guard, -1 on its version's counter, record the teardown intent.

        ``extra`` are more writes of the same transaction (quota counters given back). With ``tombstone``
        (an event owner's forced removal) the subscription item is replaced by it instead, so the subscribing
        team still sees the subscription, why it went and its teardown. ``LostUpdate`` when the subscription or
        its version went meanwhile.
        """
        removal: dict[str, Any] = (
            _put(tombstone.to_item(), "attribute_exists(pk)")
            if tombstone is not None
            else {
                "Delete": {
                    "Key": serialize(subscription_key(subscription.subscription_id)),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
        )
        self.transact(
            [
                Write(removal),
                Write({"Delete": {"Key": serialize(dedupe_key(subscription.dedupe_id))}}),
                Write(
                    {
                        "Update": {
                            "Key": serialize(version_key(subscription.event_type, subscription.version)),
                            "UpdateExpression": "ADD subscription_count :minus",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": serialize({":minus": -1}),
                        }
                    }
                ),
                _new_intent(intent),
                *extra,
            ]
        )

    def replace_subscription(
        self, subscription: SubscriptionRecord, expected_deployment_id: str, intent: IntentRecord
    ) -> None:
        """Store a changed subscription (and its deployment intent) only if nobody changed it since it was read.

        ``LostUpdate`` when somebody did (or removed it).
        """
        self.transact(
            [
                Write(
                    _put(
                        subscription.to_item(),
                        "deployment_id = :expected AND (attribute_not_exists(#status) OR #status = :active)",
                        {":expected": expected_deployment_id, ":active": "active"},
                        {"#status": "status"},
                    )
                ),
                _new_intent(intent),
            ]
        )

    def delete_subscription(self, subscription_id: str) -> None:
        """Forget a removed subscription's remaining item (its teardown was requested when it was removed)."""
        self.client.delete_item(TableName=self.table_name, Key=serialize(subscription_key(subscription_id)))

    # --- intents ----------------------------------------------------------------------------

    def pending_intents(self) -> list[IntentRecord]:
        return [IntentRecord.from_item(item) for item in self.query_all(INTENTS_PARTITION, index=BY_LISTING)]

    def get_intent(self, intent_id: str) -> IntentRecord | None:
        item = self._get(intent_key(intent_id))
        return IntentRecord.from_item(item) if item else None

    def delete_intent(self, intent_id: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key=serialize(intent_key(intent_id)))


def _lost(exception: CatalogConflict) -> Callable[[], CatalogConflict]:
    """A ``Write.lost`` that needs nothing read: it always means ``exception``."""
    return lambda: exception


def _new_intent(intent: IntentRecord) -> Write:
    # intent ids are random: the condition only guards against reusing one, a loss is a plain LostUpdate
    return Write(_put(intent.to_item(), "attribute_not_exists(pk)"))


def _put(
    item: Mapping[str, Any],
    condition: str,
    values: Mapping[str, Any] | None = None,
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    put: dict[str, Any] = {"Item": serialize(item), "ConditionExpression": condition}
    if values:
        put["ExpressionAttributeValues"] = serialize(values)
    if names:
        put["ExpressionAttributeNames"] = dict(names)
    return {"Put": put}
