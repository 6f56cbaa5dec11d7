"""Layout of the DynamoDB catalog table, shared by the broker stack, the portal and the generator.

One table holds events, versions, subscriptions, deployments and components. Every listing is a
Query on the primary key or on one of the indexes below: nothing in the broker needs a Scan.

The broker stack creates the table from ``KEY_ATTRIBUTES`` and ``INDEXES``; the portal writes
events, versions, subscriptions and new deployments; the generator moves deployments through
their statuses and records, per component, the newest sequence it has handled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PARTITION_KEY = "pk"
SORT_KEY = "sk"


@dataclass(frozen=True)
class Index:
    """A global secondary index projecting all attributes."""

    name: str
    partition_key: str
    sort_key: str


#: listings: all events (partition ``EVENTS``), subscriptions of an event, deployments of a component
BY_LISTING = Index("by-listing", "gsi1pk", "gsi1sk")
#: everything a team owns: its events and its subscriptions
BY_TEAM = Index("by-team", "gsi2pk", "gsi2sk")
#: events of one producing application
BY_APPLICATION = Index("by-application", "gsi3pk", "gsi3sk")

INDEXES: tuple[Index, ...] = (BY_LISTING, BY_TEAM, BY_APPLICATION)
KEY_ATTRIBUTES: tuple[str, ...] = (
    PARTITION_KEY,
    SORT_KEY,
    *(attribute for index in INDEXES for attribute in (index.partition_key, index.sort_key)),
)


def deployment_key(deployment_id: str) -> dict[str, str]:
    """Primary key of a deployment item (status, kind, component, sequence, error, artifact)."""
    return {PARTITION_KEY: f"DEPLOYMENT#{deployment_id}", SORT_KEY: "DEPLOYMENT"}


def queue_policy_lock_key(queue_arn: str) -> dict[str, str]:
    """Primary key of the generator's lock on one target queue's policy (held while it rewrites the policy)."""
    return {PARTITION_KEY: f"LOCK#queue-policy#{queue_arn}", SORT_KEY: "LOCK"}


def component_key(component_id: str) -> dict[str, str]:
    """Primary key of a component item: ``next_sequence`` (portal) and ``handled_sequence`` (generator)."""
    return {PARTITION_KEY: f"COMPONENT#{component_id}", SORT_KEY: "COMPONENT"}


def component_deployments_index_key(component_id: str, sequence: int) -> dict[str, str]:
    """``by-listing`` keys of a deployment, so a component's deployments list in order."""
    return {BY_LISTING.partition_key: f"COMPONENT#{component_id}", BY_LISTING.sort_key: f"{sequence:010d}"}


def create_table_arguments(table_name: str) -> dict[str, Any]:
    """``CreateTable`` arguments of the catalog (the broker stack declares the same keys and indexes).

    For the offline stand-ins of tests and benchmarks; deployed environments get the table from the stack.
    """
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in KEY_ATTRIBUTES],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in INDEXES
        ],
    }
