"""What the portal keeps in the catalog table, and how each record maps to a DynamoDB item.

Layout (keys from ``broker_contract.catalog``):

* event ``EVENT#<type>`` / ``META``: listed on ``by-listing`` (``EVENTS``), ``by-team``
  (``TEAM#<owner>``) and ``by-application`` (``APPLICATION#<app>``); ``revision`` guards updates.
* version ``EVENT#<type>`` / ``VERSION#<n:010d>``: the data schema (as JSON text: DynamoDB
  refuses documents nested deeper than 32 levels) and the subscription counter.
* subscription ``SUBSCRIPTION#<id>`` / ``META``: listed per event (``SUBSCRIPTIONS#<type>``) and
  per team; ``SUBSCRIPTION_KEY#<sha256>`` items make duplicates impossible even under races.
* intent ``INTENT#<id>`` / ``META`` on ``by-listing`` partition ``INTENTS``: written in the same
  transaction as a change and deleted once every later step (backup, registry, deployment file)
  is done; ``manage reconcile`` finishes the ones left behind.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from broker_contract.catalog import BY_APPLICATION, BY_LISTING, BY_TEAM, PARTITION_KEY, SORT_KEY
from broker_contract.models import (
    DEFAULT_MAXIMUM_EVENT_AGE,
    DEFAULT_RETRY_ATTEMPTS,
    ConsumerConnectionType,
    ProducerConnectionType,
)

EVENTS_PARTITION = "EVENTS"
INTENTS_PARTITION = "INTENTS"
META = "META"


def event_pk(event_type: str) -> str:
    return f"EVENT#{event_type}"


def version_sk(version: int) -> str:
    return f"VERSION#{version:010d}"


def event_key(event_type: str) -> dict[str, str]:
    return {PARTITION_KEY: event_pk(event_type), SORT_KEY: META}


def version_key(event_type: str, version: int) -> dict[str, str]:
    return {PARTITION_KEY: event_pk(event_type), SORT_KEY: version_sk(version)}


def subscription_key(subscription_id: str) -> dict[str, str]:
    return {PARTITION_KEY: f"SUBSCRIPTION#{subscription_id}", SORT_KEY: META}


def intent_key(intent_id: str) -> dict[str, str]:
    return {PARTITION_KEY: f"INTENT#{intent_id}", SORT_KEY: META}


def team_partition(team: str) -> str:
    return f"TEAM#{team}"


def application_partition(application: str) -> str:
    return f"APPLICATION#{application}"


def event_subscriptions_partition(event_type: str) -> str:
    return f"SUBSCRIPTIONS#{event_type}"


class _Record(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EventRecord(_Record):
    """An event type: who owns it, who produces it, its newest version and its revision."""

    event_type: str
    application: str
    owner: str
    description: str = ""
    connection_type: ProducerConnectionType
    latest_version: int
    revision: int = 1
    #: a ``CompatibilityMode`` value; events stored before modes existed read as the default
    compatibility_mode: str = "FORWARD"
    created_at: datetime
    updated_at: datetime

    def to_item(self) -> dict[str, Any]:
        item = self.model_dump(mode="json")
        item.update(event_key(self.event_type))
        item.update(
            {
                BY_LISTING.partition_key: EVENTS_PARTITION,
                BY_LISTING.sort_key: self.event_type,
                BY_TEAM.partition_key: team_partition(self.owner),
                BY_TEAM.sort_key: f"EVENT#{self.event_type}",
                BY_APPLICATION.partition_key: application_partition(self.application),
                BY_APPLICATION.sort_key: self.event_type,
            }
        )
        return item


class VersionRecord(_Record):
    """One version of an event type: its data schema and how many subscriptions use it."""

    event_type: str
    version: int
    description: str = ""
    data_schema: dict[str, Any]
    created_at: datetime
    created_by: str
    deployment_id: str
    subscription_count: int = 0
    #: the event's compatibility mode when this version was created (None: created before modes existed)
    compatibility_mode: str | None = None
    backward_compatible: bool | None = None
    compatibility_problems: list[str] = Field(default_factory=list)

    def to_item(self) -> dict[str, Any]:
        item = self.model_dump(mode="json", exclude={"data_schema"})
        item["data_schema"] = json.dumps(self.data_schema, sort_keys=True)
        item.update(version_key(self.event_type, self.version))
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> VersionRecord:
        return cls.model_validate({**item, "data_schema": json.loads(item["data_schema"])})


SubscriptionStatus = Literal["active", "event_deleted", "version_deleted"]


class SubscriptionRecord(_Record):
    """A team's subscription to one event version."""

    subscription_id: str
    event_type: str
    version: int
    team: str
    target_unit: str
    connection_type: ConsumerConnectionType
    connection_string: str
    content_filter: dict[str, Any] | None = None
    auth: dict[str, Any] | None = None
    created_at: datetime
    deployment_id: str
    #: delivery settings of the rule's target (the contract's defaults until a PATCH changes them)
    retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_MAXIMUM_EVENT_AGE
    manage_queue_policy: bool = True
    #: ``active``, or why the subscription is gone while its team can still see its teardown
    status: SubscriptionStatus = "active"
    updated_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == "active"

    @property
    def dedupe_id(self) -> str:
        return dedupe_id(self.event_type, self.version, self.target_unit, self.connection_type, self.connection_string)

    def to_item(self) -> dict[str, Any]:
        item = self.model_dump(mode="json", exclude={"content_filter", "auth"})
        item["content_filter"] = json.dumps(self.content_filter, sort_keys=True)
        item["auth"] = json.dumps(self.auth, sort_keys=True)
        item.update(subscription_key(self.subscription_id))
        item.update(
            {BY_TEAM.partition_key: team_partition(self.team), BY_TEAM.sort_key: f"SUBSCRIPTION#{self.subscription_id}"}
        )
        if self.active:
            # a removed subscription stays visible to its team only, not in the event's consumer listing
            item.update(
                {
                    BY_LISTING.partition_key: event_subscriptions_partition(self.event_type),
                    BY_LISTING.sort_key: f"{self.version:010d}#{self.subscription_id}",
                }
            )
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> SubscriptionRecord:
        return cls.model_validate(
            {**item, "content_filter": json.loads(item["content_filter"]), "auth": json.loads(item["auth"])}
        )


def dedupe_id(event_type: str, version: int, target_unit: str, connection_type: str, connection_string: str) -> str:
    """Identity of a subscription for duplicate detection (same event, version, target and connection)."""
    raw = json.dumps([event_type, version, target_unit, connection_type, connection_string])
    return hashlib.sha256(raw.encode()).hexdigest()


def dedupe_key(value: str) -> dict[str, str]:
    return {PARTITION_KEY: f"SUBSCRIPTION_KEY#{value}", SORT_KEY: META}


IntentOp = Literal["provision_version", "retire_versions", "subscribe", "unsubscribe"]


class IntentRecord(_Record):
    """Work a committed change still owes (backup, registry, deployment files); see module doc."""

    intent_id: str
    op: IntentOp
    event_type: str
    versions: list[int] = Field(default_factory=list)
    #: deployment id per version (producer ops) or per subscription id (consumer ops), fixed up front
    #: so that redoing the intent never creates a second deployment
    deployment_ids: dict[str, str] = Field(default_factory=dict)
    subscriptions: list[SubscriptionRecord] = Field(default_factory=list)
    #: what retire needs once the version items are gone: application, connection type, description
    event: EventRecord | None = None
    requested_by: str
    requested_at: datetime

    def to_item(self) -> dict[str, Any]:
        item = {
            "intent_id": self.intent_id,
            "op": self.op,
            "payload": self.model_dump_json(),
            **intent_key(self.intent_id),
            BY_LISTING.partition_key: INTENTS_PARTITION,
            BY_LISTING.sort_key: f"{self.requested_at.isoformat()}#{self.intent_id}",
        }
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> IntentRecord:
        return cls.model_validate_json(item["payload"])
