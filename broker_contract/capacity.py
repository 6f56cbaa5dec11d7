"""What the broker's components hold of each AWS quota: the one definition the portal counts with.

Each producer version holds a schema in the registry; an HTTPS one also holds a resource on the
producers' REST API, a usage plan and an API key (and its event type a ``/<event_type>`` resource,
which stays when the event type is deleted). Each subscription holds one rule on the bus with one
target; an HTTPS one also holds an API destination and a connection. ``plan`` answers, for a
catalogue of a given size, how many of each that takes and how many buses, APIs, registries or
accounts the quotas then call for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from broker_contract.config import Quotas

#: rule targets each subscription's rule has (the consumer stack puts exactly one)
TARGETS_PER_SUBSCRIPTION_RULE = 1


@dataclass(frozen=True)
class Counted:
    """One counted resource kind: the quota (field of ``Quotas``) bounding it and what it is, in words."""

    quota: str
    what: str
    scope: str
    scopes: str


#: counter name -> the quota bounding it; the portal keeps one catalog counter per name
COUNTED: dict[str, Counted] = {
    "rules": Counted(
        "rules_per_event_bus", "rules on the event bus (one per subscription)", "event bus", "event buses"
    ),
    "schemas": Counted(
        "schemas_per_registry", "schemas in the registry (one per event version)", "registry", "registries"
    ),
    "api_resources": Counted(
        "resources_per_rest_api",
        "resources on the producers' REST API (one per HTTPS event type and per version)",
        "REST API",
        "REST APIs",
    ),
    "usage_plans": Counted(
        "usage_plans_per_account", "API Gateway usage plans (one per HTTPS event version)", "account", "accounts"
    ),
    "api_keys": Counted(
        "api_keys_per_account", "API Gateway API keys (one per HTTPS event version)", "account", "accounts"
    ),
    "api_destinations": Counted(
        "api_destinations_per_account",
        "EventBridge API destinations (one per HTTPS subscription)",
        "account",
        "accounts",
    ),
    "connections": Counted(
        "connections_per_account", "EventBridge connections (one per HTTPS subscription)", "account", "accounts"
    ),
}


def limit(quotas: Quotas, counter: str) -> int:
    """How many of a counted kind the broker may hold (what the core stack takes already deducted)."""
    value = int(getattr(quotas, COUNTED[counter].quota))
    if counter == "rules":
        return value - quotas.rules_used_by_core
    if counter == "api_resources":
        return value - 1  # the API's root resource
    return value


def version_demand(connection_type: str, versions: int, *, new_event_type: bool = False) -> dict[str, int]:
    """What ``versions`` producer versions hold; ``new_event_type`` adds the HTTPS ``/<event_type>`` resource."""
    demand = {"schemas": versions}
    if connection_type == "HTTPS":
        demand.update(api_resources=versions + (1 if new_event_type else 0), usage_plans=versions, api_keys=versions)
    return demand


def subscription_demand(connection_type: str) -> dict[str, int]:
    """What one subscription holds: a rule on the bus; HTTPS adds an API destination and a connection."""
    demand = {"rules": 1}
    if connection_type == "HTTPS":
        demand.update(api_destinations=1, connections=1)
    return demand


@dataclass(frozen=True)
class PlanRow:
    """One counted kind in a plan: how many are needed, the limit, and how many scopes that calls for."""

    counter: str
    needed: int
    limit: int

    @property
    def scopes_needed(self) -> int:
        return max(1, math.ceil(self.needed / self.limit))

    @property
    def fits(self) -> bool:
        return self.needed <= self.limit


def plan(
    quotas: Quotas,
    *,
    event_types: int,
    versions_per_event_type: int,
    https_event_types: int,
    subscriptions: int,
    https_subscriptions: int,
) -> list[PlanRow]:
    """The counted kinds a catalogue of this size holds, against ``quotas``."""
    totals = dict.fromkeys(COUNTED, 0)
    parts = [
        (version_demand("HTTPS", versions_per_event_type, new_event_type=True), https_event_types),
        (version_demand("SQS", versions_per_event_type, new_event_type=True), event_types - https_event_types),
        (subscription_demand("HTTPS"), https_subscriptions),
        (subscription_demand("LAMBDA"), subscriptions - https_subscriptions),
    ]
    for demand, times in parts:
        for counter, amount in demand.items():
            totals[counter] += amount * times
    return [PlanRow(counter, totals[counter], limit(quotas, counter)) for counter in COUNTED]
