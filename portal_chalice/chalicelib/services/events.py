"""Event types and their versions: create, list, read, change, delete."""

from __future__ import annotations

import json
from typing import Any

from broker_contract.capacity import version_demand
from broker_contract.catalog import BY_APPLICATION, BY_LISTING, BY_TEAM, Index
from broker_contract.names import MAX_VERSION, detail_type, producer_endpoint_path
from broker_contract.schemas import draft04_problems, envelope_schema
from chalicelib.aws.conflicts import ApplicationTaken, CatalogConflict, QuotaExceeded
from chalicelib.errors import FieldProblem, bad_request, conflict, forbidden, incompatible, not_found
from chalicelib.models import (
    EventChange,
    EventCreateRequest,
    EventDetail,
    EventList,
    EventSummary,
    EventUpdateRequest,
    Removal,
    SchemaDiff,
    VersionCompatibility,
    VersionDetail,
    VersionSummary,
)
from chalicelib.records import (
    EVENTS_PARTITION,
    EventRecord,
    IntentRecord,
    SubscriptionStatus,
    VersionRecord,
    application_partition,
    team_partition,
)
from chalicelib.services.applications import ApplicationOwnership
from chalicelib.services.backend import Backend
from chalicelib.services.compat import Comparison, CompatibilityMode, Verdict, compare
from chalicelib.services.pagination import decode_cursor, encode_cursor
from chalicelib.services.quotas import QuotaGuard
from chalicelib.services.subscriptions import SubscriptionService
from chalicelib.services.workflows import Workflows, run_intent

#: EventBridge Schemas refuses schema content longer than this (CreateSchema ``Content`` max length).
MAX_SCHEMA_CHARACTERS = 100_000


def check_data_schema(data: dict[str, Any], event_type: str, version: int) -> None:
    """400 naming the JSON pointer (under ``data``) and rule of every draft-04 problem, or the size limit."""
    problems = draft04_problems(data)
    if problems:
        details = [FieldProblem(f"data{problem.pointer}", problem.message) for problem in problems]
        summary = "; ".join(f"{detail.field}: {detail.rule}" for detail in details)
        raise bad_request(f"the data schema is not acceptable JSON Schema draft-04: {summary}", *details)
    size = len(json.dumps(envelope_schema(data, event_type, version), sort_keys=True))
    if size > MAX_SCHEMA_CHARACTERS:
        rule = f"the full event schema must be at most {MAX_SCHEMA_CHARACTERS} characters (schema registry limit)"
        raise bad_request(f"the data schema is too large ({size} characters)", FieldProblem("data", rule))


def summary(event: EventRecord) -> EventSummary:
    return EventSummary.model_validate(event.model_dump())


def version_compatibility(version: VersionRecord, previous: VersionRecord | None) -> VersionCompatibility:
    """A version's verdicts against the version before it (both directions; computed, never stale)."""
    if previous is None:
        comparison = Comparison(Verdict(), Verdict())
    else:
        comparison = compare(previous.data_schema, version.data_schema)
    return VersionCompatibility.model_validate(
        {
            "mode": version.compatibility_mode,
            "against": previous.version if previous is not None else None,
            "backward": comparison.backward.to_dict(),
            "forward": comparison.forward.to_dict(),
        }
    )


def legacy_problems(compatibility: VersionCompatibility) -> list[str]:
    """``compatibility_problems`` as before modes existed: the BACKWARD problems as text."""
    return [f"{problem.pointer}: {problem.message}" for problem in compatibility.backward.problems]


def enforce(mode: CompatibilityMode, earlier: list[VersionRecord], data: dict[str, Any]) -> None:
    """409 listing every problem (with its pointer) when ``data`` breaks ``mode`` against ``earlier``.

    Undecided directions count as broken: a mode is a promise, and "cannot decide" does not keep it.
    """
    if mode is CompatibilityMode.NONE or not earlier:
        return
    against = earlier if mode.transitive else earlier[-1:]
    details: list[FieldProblem] = []
    for version in against:
        comparison = compare(version.data_schema, data)
        for direction, verdict, needed in (
            ("BACKWARD", comparison.backward, mode.backward),
            ("FORWARD", comparison.forward, mode.forward),
        ):
            if not needed or verdict.compatible is True:
                continue
            for problem in verdict.problems:
                details.append(
                    FieldProblem(f"data{problem.pointer}", f"{direction} against v{version.version}: {problem.message}")
                )
    if details:
        raise incompatible(
            f"the new schema breaks the event's {mode.value} compatibility mode ({len(details)} problem(s)); "
            "nothing was stored",
            *details,
        )


def endpoint_path(event: EventRecord, version: int) -> str | None:
    return producer_endpoint_path(event.event_type, version) if event.connection_type == "HTTPS" else None


class EventService:
    """Event-type use cases; ``team`` is the authenticated caller."""

    def __init__(
        self,
        backend: Backend,
        workflows: Workflows,
        subscriptions: SubscriptionService,
        *,
        applications: ApplicationOwnership,
        quotas: QuotaGuard,
    ) -> None:
        self.backend = backend
        self.workflows = workflows
        self.subscriptions = subscriptions
        self.applications = applications
        self.quotas = quotas

    def _names_fit(self, event_type: str, version: int) -> None:
        try:
            names = self.backend.names.producer(event_type, version)
            for attribute in ("stack", "queue", "dead_letter_queue", "pipe", "pipe_role", "request_model"):
                getattr(names, attribute)
        except ValueError as error:
            raise bad_request(str(error), FieldProblem("event_type", str(error))) from error

    def _owned(self, team: str, event_type: str) -> EventRecord:
        event = self.backend.catalog.get_event(event_type)
        if event is None:
            raise not_found(f"event type {event_type!r} not found")
        if event.owner != team:
            raise forbidden(f"event type {event_type!r} is owned by team {event.owner}; only it may change it")
        return event

    def _new_intent(
        self, op: str, team: str, event_type: str, versions: list[int], event: EventRecord | None = None
    ) -> IntentRecord:
        return IntentRecord.model_validate(
            {
                "intent_id": self.backend.intent_id(),
                "op": op,
                "event_type": event_type,
                "versions": versions,
                "deployment_ids": {str(version): self.backend.deployment_id() for version in versions},
                "event": event,
                "requested_by": team,
                "requested_at": self.backend.clock(),
            }
        )

    # --- create -----------------------------------------------------------------------------

    def create(self, team: str, request: EventCreateRequest) -> EventChange:
        check_data_schema(request.data, request.event_type, 1)
        self._names_fit(request.event_type, 1)
        catalog = self.backend.catalog
        if catalog.get_event(request.event_type) is not None:
            raise conflict(f"event type {request.event_type!r} exists already; change it with PUT")
        now = self.backend.clock()
        event = EventRecord(
            event_type=request.event_type,
            application=request.application,
            owner=team,
            description=request.description,
            connection_type=request.connection_type.value,
            latest_version=1,
            revision=1,
            compatibility_mode=request.compatibility_mode.value,
            created_at=now,
            updated_at=now,
        )
        intent = self._new_intent("provision_version", team, request.event_type, [1])
        version = VersionRecord(
            event_type=request.event_type,
            version=1,
            description=request.description,
            data_schema=request.data,
            created_at=now,
            created_by=team,
            deployment_id=intent.deployment_ids["1"],
            compatibility_mode=request.compatibility_mode.value,
        )
        claim = self.applications.claim(team, request.application, now)
        counters = self.quotas.reserve(version_demand(event.connection_type, 1, new_event_type=True))
        try:
            catalog.commit_new_event(event, version, intent, [*claim, *counters])
        except ApplicationTaken as taken:
            raise self.applications.refusal(taken) from None
        except QuotaExceeded as exceeded:
            raise self.quotas.refusal(exceeded) from None
        except CatalogConflict:
            # EventExists, or a concurrent transaction on the same event type
            raise conflict(f"event type {request.event_type!r} exists already; change it with PUT") from None
        run_intent(self.workflows, intent, f"event type {request.event_type!r} v1")
        return EventChange(
            event=summary(event),
            version=1,
            version_created=True,
            schema_=envelope_schema(request.data, request.event_type, 1),
            producer_endpoint_path=endpoint_path(event, 1),
            deployment_id=version.deployment_id,
            compatibility=version_compatibility(version, None),
        )

    # --- read -------------------------------------------------------------------------------

    def list(self, application: str | None, owner: str | None, limit: int, cursor: str | None) -> EventList:
        """One page of events, always a Query on an index (never a Scan)."""
        if application is not None and owner is not None:
            raise bad_request(
                "filter by application or by owner, not both",
                FieldProblem("application", "cannot be combined with owner"),
            )
        index: Index
        prefix: str | None = None
        if application is not None:
            index, partition = BY_APPLICATION, application_partition(application)
        elif owner is not None:
            # The team index also lists the team's subscriptions; the prefix keeps to events.
            index, partition, prefix = BY_TEAM, team_partition(owner), "EVENT#"
        else:
            index, partition = BY_LISTING, EVENTS_PARTITION
        start = decode_cursor(cursor)
        if start is not None and start.get(index.partition_key) != partition:
            raise bad_request("invalid cursor", FieldProblem("cursor", "belongs to a different listing or filter"))
        page = self.backend.catalog.list_page(index, partition, limit, start, prefix)
        return EventList(
            items=[EventSummary.model_validate(item) for item in page.items],
            next_cursor=encode_cursor(page.last_key),
        )

    def get(self, event_type: str) -> EventDetail:
        event, versions = self.backend.catalog.get_event_with_versions(event_type)
        if event is None:
            raise not_found(f"event type {event_type!r} not found")
        items = []
        for index, version in enumerate(versions):
            compatibility = version_compatibility(version, versions[index - 1] if index else None)
            items.append(
                VersionSummary(
                    version=version.version,
                    description=version.description,
                    created_at=version.created_at,
                    created_by=version.created_by,
                    subscription_count=version.subscription_count,
                    deployment_id=version.deployment_id,
                    backward_compatible=compatibility.backward.compatible if index else None,
                    compatibility_problems=legacy_problems(compatibility),
                    compatibility=compatibility,
                    producer_endpoint_path=endpoint_path(event, version.version),
                )
            )
        return EventDetail(**summary(event).model_dump(), versions=items)

    def diff(self, event_type: str, earlier: int, later: int) -> SchemaDiff:
        """Both directions between two versions of one event type (any authenticated team may read it)."""
        event, versions = self.backend.catalog.get_event_with_versions(event_type)
        if event is None:
            raise not_found(f"event type {event_type!r} not found")
        by_number = {version.version: version for version in versions}
        for name, number in (("from", earlier), ("to", later)):
            if number not in by_number:
                raise not_found(f"event type {event_type!r} has no version {number} (query parameter '{name}')")
        comparison = compare(by_number[earlier].data_schema, by_number[later].data_schema)
        return SchemaDiff.model_validate(
            {
                "event_type": event_type,
                "from": earlier,
                "to": later,
                "mode": event.compatibility_mode,
                "backward": comparison.backward.to_dict(),
                "forward": comparison.forward.to_dict(),
                "from_schema": by_number[earlier].data_schema,
                "to_schema": by_number[later].data_schema,
            }
        )

    def get_version(self, event_type: str, number: int) -> VersionDetail:
        catalog = self.backend.catalog
        event = catalog.get_event(event_type)
        if event is None:
            raise not_found(f"event type {event_type!r} not found")
        version = catalog.get_version(event_type, number)
        if version is None:
            raise not_found(f"event type {event_type!r} has no version {number}")
        return VersionDetail(
            event_type=event_type,
            version=number,
            application=event.application,
            detail_type=detail_type(event_type, number),
            data_schema=version.data_schema,
            schema_=envelope_schema(version.data_schema, event_type, number),
            producer_endpoint_path=endpoint_path(event, number),
            subscription_count=version.subscription_count,
            deployment_id=version.deployment_id,
        )

    # --- update -----------------------------------------------------------------------------

    def update(self, team: str, event_type: str, request: EventUpdateRequest, if_match: int | None) -> EventChange:
        """Description-only changes keep the version; a schema change creates the next version."""
        if request.data is not None:
            check_data_schema(request.data, event_type, MAX_VERSION)
        event = self._owned(team, event_type)
        if if_match is not None and if_match != event.revision:
            raise conflict(f"event type {event_type!r} is at revision {event.revision}, not {if_match}")
        catalog = self.backend.catalog
        previous = catalog.get_version(event_type, event.latest_version)
        lost = conflict(f"event type {event_type!r} was changed concurrently; read it again and retry")
        now = self.backend.clock()
        description = event.description if request.description is None else request.description
        mode = request.compatibility_mode or CompatibilityMode(event.compatibility_mode)
        if request.data is None or (previous is not None and previous.data_schema == request.data):
            changed = event.model_copy(
                update={
                    "description": description,
                    "compatibility_mode": mode.value,
                    "revision": event.revision + 1,
                    "updated_at": now,
                }
            )
            try:
                catalog.replace_event(changed, event.revision)
            except CatalogConflict:
                raise lost from None
            return EventChange(
                event=summary(changed),
                version=event.latest_version,
                version_created=False,
                schema_=None,
                producer_endpoint_path=endpoint_path(event, event.latest_version),
                deployment_id=None,
            )
        number = event.latest_version + 1
        self._names_fit(event_type, number)
        self.quotas.check_versions(event_type, event.latest_version)
        _, earlier = catalog.get_event_with_versions(event_type)
        enforce(mode, earlier, request.data)
        intent = self._new_intent("provision_version", team, event_type, [number])
        version = VersionRecord(
            event_type=event_type,
            version=number,
            description=description,
            data_schema=request.data,
            created_at=now,
            created_by=team,
            deployment_id=intent.deployment_ids[str(number)],
            compatibility_mode=mode.value,
        )
        compatibility = version_compatibility(version, previous)
        changed = event.model_copy(
            update={
                "description": description,
                "compatibility_mode": mode.value,
                "latest_version": number,
                "revision": event.revision + 1,
                "updated_at": now,
            }
        )
        counters = self.quotas.reserve(version_demand(event.connection_type, 1))
        try:
            catalog.commit_new_version(changed, event.revision, version, intent, counters)
        except QuotaExceeded as exceeded:
            raise self.quotas.refusal(exceeded) from None
        except CatalogConflict:
            raise lost from None
        run_intent(self.workflows, intent, f"event type {event_type!r} v{number}")
        return EventChange(
            event=summary(changed),
            version=number,
            version_created=True,
            schema_=envelope_schema(request.data, event_type, number),
            producer_endpoint_path=endpoint_path(event, number),
            deployment_id=version.deployment_id,
            backward_compatible=compatibility.backward.compatible if previous is not None else None,
            compatibility_problems=legacy_problems(compatibility),
            compatibility=compatibility,
        )

    # --- delete -----------------------------------------------------------------------------

    def delete(self, team: str, event_type: str, version: int | None, force: bool) -> Removal:
        """Delete the event (``version`` None) or one version; subscriptions block unless ``force``."""
        self._owned(team, event_type)
        catalog = self.backend.catalog
        subscriptions = catalog.subscriptions_of_event(event_type, version)
        what = f"event type {event_type!r}" + (f" v{version}" if version is not None else "")
        if subscriptions and not force:
            raise conflict(
                f"{what} has {len(subscriptions)} subscription(s) "
                f"({', '.join(sub.subscription_id for sub in subscriptions[:10])}); "
                "they must be deleted first, or pass ?force=true to remove them too"
            )
        event, versions = catalog.get_event_with_versions(event_type)
        if event is None:
            raise not_found(f"event type {event_type!r} not found")
        if version is not None:
            targets = [item for item in versions if item.version == version]
            if not targets:
                raise not_found(f"event type {event_type!r} has no version {version}")
            if len(versions) == 1:
                raise conflict(f"v{version} is the only version of {event_type!r}; delete the event type instead")
        else:
            targets = versions
        removed_subscriptions: list[str] = []
        deployment_ids: list[str] = []
        for subscription in subscriptions:
            reason: SubscriptionStatus = "event_deleted" if version is None else "version_deleted"
            deployment_ids.append(self.subscriptions.remove(subscription, team, reason))
            removed_subscriptions.append(subscription.subscription_id)
        if removed_subscriptions:
            event, versions = catalog.get_event_with_versions(event_type)
            if event is None:
                raise not_found(f"event type {event_type!r} not found")
        numbers = [item.version for item in targets]
        intent = self._new_intent("retire_versions", team, event_type, numbers, event)
        event_change: tuple[EventRecord, int] | None = None
        if version is not None:
            remaining = [item.version for item in versions if item.version != version]
            changed = event.model_copy(
                update={
                    "latest_version": max(remaining),
                    "revision": event.revision + 1,
                    "updated_at": self.backend.clock(),
                }
            )
            event_change = (changed, event.revision)
        try:
            catalog.commit_retire(
                intent,
                targets,
                event_change,
                None if version is not None else event.revision,
                self.quotas.release(version_demand(event.connection_type, len(targets))),
            )
        except CatalogConflict:
            raise conflict(
                f"{what} changed concurrently (new version or subscription); read it again and retry"
            ) from None
        run_intent(self.workflows, intent, f"removal of {what}")
        deployment_ids.extend(intent.deployment_ids[str(number)] for number in numbers)
        return Removal(
            event_type=event_type,
            versions=numbers,
            removed_subscriptions=removed_subscriptions,
            deployment_ids=deployment_ids,
        )
