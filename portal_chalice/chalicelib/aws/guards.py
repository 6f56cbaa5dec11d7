"""Quota counters and application claims, kept as items of the catalog table.

* counter ``QUOTA#<name>`` / ``COUNTER``: ``used``, how many of one AWS resource kind the broker's
  components hold (rules on the bus, schemas, usage plans ...). Moved by the same transaction as the
  change that needs or frees them, with a condition that keeps it within its limit: counting is one
  GetItem, never a Scan.
* claim ``APPLICATION#<application>`` / ``OWNER``: the team an application belongs to, written with
  the first event registered under it.

The writes returned here join the transaction of a catalog ``commit_*`` method (``extra``), each with
what its failed condition means: ``QuotaExceeded`` (a concurrent change took the last places),
``ApplicationTaken`` (another team claimed the application first). Only this module, ``catalog`` and the
deployment store (``broker_contract.dynamodb_store``) speak DynamoDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from broker_contract.catalog import PARTITION_KEY, SORT_KEY
from broker_contract.dynamo_items import deserialize, serialize
from broker_contract.lazy_client import LazyClient
from chalicelib.aws.catalog import CatalogRepository, Write
from chalicelib.aws.conflicts import ApplicationTaken, QuotaExceeded


def counter_key(name: str) -> dict[str, str]:
    return {PARTITION_KEY: f"QUOTA#{name}", SORT_KEY: "COUNTER"}


def application_key(application: str) -> dict[str, str]:
    return {PARTITION_KEY: f"APPLICATION#{application}", SORT_KEY: "OWNER"}


class CatalogGuards(LazyClient):
    """Reads and transaction items for quota counters and application claims."""

    def __init__(self, table_name: str, client_factory: Callable[[], Any]) -> None:
        self.table_name = table_name
        super().__init__(client_factory)

    @classmethod
    def over(cls, catalog: CatalogRepository) -> CatalogGuards:
        """Guards on the catalog's own table and client."""
        return cls(catalog.table_name, lambda: catalog.client)

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        response = self.client.get_item(TableName=self.table_name, Key=serialize(key), ConsistentRead=True)
        item = response.get("Item")
        return deserialize(item) if item else None

    def usage(self, names: Iterable[str]) -> dict[str, int]:
        """How many of each counted kind are in use (0 for a counter never moved)."""
        found: dict[str, int] = {}
        for name in names:
            item = self._get(counter_key(name))
            found[name] = int(item.get("used", 0)) if item else 0
        return found

    def reserve(self, name: str, amount: int, limit: int) -> Write:
        """+``amount`` on the counter, only while the result stays within ``limit`` (else ``QuotaExceeded``)."""
        return Write(
            {
                "Update": {
                    "Key": serialize(counter_key(name)),
                    "UpdateExpression": "ADD used :amount",
                    "ConditionExpression": "attribute_not_exists(used) OR used <= :room",
                    "ExpressionAttributeValues": serialize({":amount": amount, ":room": limit - amount}),
                }
            },
            lambda: QuotaExceeded(name, amount),
        )

    def release(self, name: str, amount: int) -> Write:
        """-``amount`` on the counter (unconditional: freeing never fails a change)."""
        return Write(
            {
                "Update": {
                    "Key": serialize(counter_key(name)),
                    "UpdateExpression": "ADD used :amount",
                    "ExpressionAttributeValues": serialize({":amount": -amount}),
                }
            }
        )

    def set_usage(self, name: str, used: int) -> None:
        """Overwrite a counter with a recount (``manage recount-quotas``)."""
        self.client.put_item(TableName=self.table_name, Item=serialize({**counter_key(name), "used": used}))

    def application_owner(self, application: str) -> str | None:
        """The team that claimed ``application``, or ``None``."""
        item = self._get(application_key(application))
        return str(item["owner"]) if item else None

    def claim_application(self, application: str, team: str, at: datetime) -> Write:
        """Record ``team`` as the application's owner unless another team holds it already.

        Loses with ``ApplicationTaken`` naming the team that claimed it first.
        """
        return Write(
            {
                "Put": {
                    "Item": serialize(
                        {
                            **application_key(application),
                            "application": application,
                            "owner": team,
                            "claimed_at": at.isoformat(),
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk) OR #owner = :team",
                    "ExpressionAttributeNames": {"#owner": "owner"},
                    "ExpressionAttributeValues": serialize({":team": team}),
                }
            },
            lambda: ApplicationTaken(application, self.application_owner(application)),
        )
