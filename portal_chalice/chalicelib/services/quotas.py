"""AWS quotas answered by the portal before anything is written.

Every change says what it needs (``broker_contract.capacity``: one rule per subscription, one schema per event
version, an API resource, usage plan and API key per HTTPS version ...). ``QuotaGuard.reserve``
reads the counters (one GetItem each), refuses with 409 naming the quota and the current count
when a limit would be crossed, and otherwise returns the counter updates the change's own
transaction carries, each conditional on its limit, so two racing requests cannot both take the
last place. Sizes (the rule's event pattern) are refused with 400; the number of versions of an
event type with 409. Limits come from ``broker_contract.config.Quotas`` (per environment).
"""

from __future__ import annotations

from collections.abc import Mapping

from broker_contract.capacity import COUNTED, limit, subscription_demand, version_demand
from broker_contract.catalog import BY_LISTING
from broker_contract.config import Quotas
from broker_contract.models import ConsumerDeployment
from broker_contract.routing import consumer_event_pattern, event_pattern_json
from chalicelib.aws.catalog import CatalogRepository, Write
from chalicelib.aws.conflicts import QuotaExceeded
from chalicelib.aws.guards import CatalogGuards
from chalicelib.errors import ApiError, FieldProblem, bad_request
from chalicelib.records import EVENTS_PARTITION, EventRecord


class QuotaGuard:
    """Quota checks and counter updates; ``quotas`` are the environment's limits."""

    def __init__(self, guards: CatalogGuards, quotas: Quotas, environment: str) -> None:
        self.guards = guards
        self.quotas = quotas
        self.environment = environment

    def limit(self, counter: str) -> int:
        """How many of a counted kind the broker may hold."""
        return limit(self.quotas, counter)

    def _refusal(self, counter: str, used: int | None, amount: int) -> ApiError:
        counted = COUNTED[counter]
        limit = self.limit(counter)
        state = f"{used} of {limit} in use" if used is not None else f"all {limit} taken by a concurrent change"
        rule = (
            f"quota {counted.quota}: at most {limit} {counted.what}; raise it in 'quotas.{counted.quota}' of "
            f"config/{self.environment}.json once AWS raised the account's quota"
        )
        message = f"quota {counted.quota} reached: {state}, this change needs {amount} more ({counted.what})"
        return ApiError(message, (FieldProblem(f"quotas.{counted.quota}", rule),), 409, "conflict")

    def reserve(self, demand: Mapping[str, int]) -> list[Write]:
        """409 when ``demand`` crosses a limit; else the conditional counter updates for the change's transaction.

        A counter update loses with ``QuotaExceeded`` when a concurrent change took the last places: see ``refusal``.
        """
        wanted = {counter: amount for counter, amount in demand.items() if amount > 0}
        usage = self.guards.usage(wanted)
        for counter, amount in wanted.items():
            if usage[counter] + amount > self.limit(counter):
                raise self._refusal(counter, usage[counter], amount)
        return [self.guards.reserve(counter, amount, self.limit(counter)) for counter, amount in wanted.items()]

    def release(self, demand: Mapping[str, int]) -> list[Write]:
        """The counter updates giving back what a removal frees."""
        return [self.guards.release(counter, amount) for counter, amount in demand.items() if amount > 0]

    def refusal(self, exceeded: QuotaExceeded) -> ApiError:
        """The quota's 409 for a counter update that lost to a concurrent change."""
        return self._refusal(exceeded.counter, None, exceeded.amount)

    def check_versions(self, event_type: str, versions_created: int) -> None:
        """409 when ``event_type`` already has as many versions as ``versions_per_schema`` allows."""
        limit = self.quotas.versions_per_schema
        if versions_created >= limit:
            rule = (
                f"quota versions_per_schema: at most {limit} versions per event type; raise it in "
                f"'quotas.versions_per_schema' of config/{self.environment}.json once AWS raised the account's quota"
            )
            raise ApiError(
                f"quota versions_per_schema reached: event type {event_type!r} has {versions_created} of {limit} "
                "versions; register a new event type instead",
                (FieldProblem("quotas.versions_per_schema", rule),),
                409,
                "conflict",
            )

    def check_pattern(self, deployment: ConsumerDeployment) -> None:
        """400 when the rule's event pattern, as the consumer stack writes it, is longer than EventBridge allows."""
        size = len(event_pattern_json(consumer_event_pattern(deployment)))
        limit = self.quotas.event_pattern_characters
        if size > limit:
            rule = (
                f"quota event_pattern_characters: the rule's event pattern (content filter merged into the "
                f"source, detail-type and target unit) may have at most {limit} characters"
            )
            raise bad_request(
                f"quota event_pattern_characters: the rule's event pattern would have {size} characters, "
                f"more than the {limit} EventBridge accepts; narrow the content_filter",
                FieldProblem("content_filter", rule),
            )

    def recount(self, catalog: CatalogRepository) -> dict[str, int]:
        """Set every counter from what the catalog holds (``manage recount-quotas``, after an upgrade).

        A repair walk over every event type (Queries, no Scan). ``/<event_type>`` resources that the
        generator left on the API for event types deleted since cannot be seen here and are not counted.
        """
        totals = dict.fromkeys(COUNTED, 0)
        for item in catalog.query_all(EVENTS_PARTITION, index=BY_LISTING):
            event = EventRecord.model_validate(item)
            _, versions = catalog.get_event_with_versions(event.event_type)
            held = [version_demand(event.connection_type, len(versions), new_event_type=True)]
            held += [
                subscription_demand(sub.connection_type) for sub in catalog.subscriptions_of_event(event.event_type)
            ]
            for demand in held:
                for counter, amount in demand.items():
                    totals[counter] += amount
        for counter, used in totals.items():
            self.guards.set_usage(counter, used)
        return totals
