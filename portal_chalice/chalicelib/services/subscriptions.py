"""Subscriptions: a team receives one event version of one target unit at a Lambda, queue or URL."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from broker_contract.arns import delivery_problems
from broker_contract.capacity import subscription_demand
from broker_contract.catalog import BY_TEAM
from broker_contract.models import ConsumerDeployment, DeploymentAction, DeploymentStatus, EventVersionRef
from broker_contract.schemas import data_field_paths
from chalicelib.aws.conflicts import CatalogConflict, DuplicateSubscription, QuotaExceeded, VersionMissing
from chalicelib.errors import (
    ApiError,
    FieldProblem,
    bad_request,
    conflict,
    forbidden,
    from_validation_error,
    not_found,
    rule_of,
)
from chalicelib.models import Subscription, SubscriptionCreateRequest, SubscriptionDetail, SubscriptionList
from chalicelib.records import IntentRecord, SubscriptionRecord, SubscriptionStatus, dedupe_id, team_partition
from chalicelib.services.backend import Backend
from chalicelib.services.pagination import decode_cursor, encode_cursor
from chalicelib.services.quotas import QuotaGuard
from chalicelib.services.targets import TargetPolicy
from chalicelib.services.workflows import CONSUMER_ADAPTER, Workflows, run_intent


def filter_problems(
    content_filter: Any, paths: set[tuple[str, ...]], prefix: tuple[str, ...] = ()
) -> list[FieldProblem]:
    """Fields a content filter names that the data schema does not declare (and malformed leaves)."""
    where = ".".join(("content_filter", *prefix))
    if not isinstance(content_filter, dict) or not content_filter:
        return [FieldProblem(where, "must be a non-empty object of data fields")]
    problems: list[FieldProblem] = []
    for name, value in content_filter.items():
        path = (*prefix, name)
        field = ".".join(("content_filter", *path))
        if path not in paths:
            problems.append(FieldProblem(field, "is not a field of the event's data schema"))
        elif isinstance(value, dict):
            problems.extend(filter_problems(value, paths, path))
        elif not isinstance(value, list) or not value:
            problems.append(FieldProblem(field, "must be a non-empty list of values or EventBridge matchers"))
    return problems


def _duplicate(existing: str | None) -> ApiError:
    """409 naming the subscription that exists already (when a concurrent request's could still be read)."""
    return conflict("the same subscription exists already" + (f": {existing}" if existing else ""))


def to_api(record: SubscriptionRecord) -> Subscription:
    return Subscription.model_validate(record.model_dump())


class SubscriptionService:
    """Subscription use cases; ``team`` is the authenticated caller."""

    def __init__(self, backend: Backend, workflows: Workflows, *, targets: TargetPolicy, quotas: QuotaGuard) -> None:
        self.backend = backend
        self.workflows = workflows
        self.targets = targets
        self.quotas = quotas

    def create(self, team: str, request: SubscriptionCreateRequest) -> Subscription:
        catalog = self.backend.catalog
        event = catalog.get_event(request.event_type)
        if event is None:
            raise not_found(f"event type {request.event_type!r} not found")
        version = catalog.get_version(request.event_type, request.version)
        if version is None:
            raise not_found(f"event type {request.event_type!r} has no version {request.version}")
        if request.auth is not None and request.connection_type.value != "HTTPS":
            raise bad_request(
                "auth is only for HTTPS subscriptions", FieldProblem("auth", "only allowed with connection_type HTTPS")
            )
        consumer_input: dict[str, Any] = {
            "connection_type": request.connection_type.value,
            "connection_string": request.connection_string,
        }
        if request.auth is not None:
            consumer_input["auth"] = request.auth
        try:
            consumer = CONSUMER_ADAPTER.validate_python(consumer_input)
        except ValidationError as error:
            problems = [
                FieldProblem(
                    "connection_string" if "connection_string" in [str(part) for part in item["loc"]] else "auth",
                    rule_of(item),
                )
                for item in error.errors(include_url=False)
            ]
            raise bad_request(
                f"invalid {request.connection_type.value} target: " + "; ".join(p.rule for p in problems), *problems
            ) from None
        self.targets.check(team, consumer)
        if request.content_filter is not None:
            problems = filter_problems(request.content_filter, data_field_paths(version.data_schema))
            if problems:
                raise bad_request(
                    "invalid content_filter: " + "; ".join(f"{p.field}: {p.rule}" for p in problems), *problems
                )
        connection_string = str(consumer.connection_string)
        duplicate = catalog.find_duplicate(
            dedupe_id(
                request.event_type,
                request.version,
                request.target_unit,
                request.connection_type.value,
                connection_string,
            )
        )
        if duplicate is not None:
            raise _duplicate(duplicate)
        subscription_id = self.backend.subscription_id()
        intent = IntentRecord(
            intent_id=self.backend.intent_id(),
            op="subscribe",
            event_type=request.event_type,
            versions=[request.version],
            deployment_ids={subscription_id: self.backend.deployment_id()},
            requested_by=team,
            requested_at=self.backend.clock(),
        )
        record = SubscriptionRecord(
            subscription_id=subscription_id,
            event_type=request.event_type,
            version=request.version,
            team=team,
            target_unit=request.target_unit,
            connection_type=request.connection_type.value,
            connection_string=connection_string,
            content_filter=request.content_filter,
            auth=request.auth.model_dump(mode="json") if request.auth is not None else None,
            created_at=intent.requested_at,
            deployment_id=intent.deployment_ids[subscription_id],
        )
        # The whole deployment file must validate before anything is stored.
        try:
            deployment = ConsumerDeployment(
                deployment_id=record.deployment_id,
                action=DeploymentAction.DEPLOY,
                sequence=1,
                environment=self.backend.config.environment,
                requested_by=team,
                requested_at=intent.requested_at,
                subscription_id=subscription_id,
                event=EventVersionRef(
                    application=event.application, event_type=event.event_type, version=request.version
                ),
                target_unit=request.target_unit,
                consumer=consumer,
                content_filter=request.content_filter,
            )
            self.backend.names.consumer(subscription_id).rule  # noqa: B018 - raises when a name breaks its rule
        except (ValidationError, ValueError) as error:
            if isinstance(error, ValidationError):
                raise from_validation_error(error) from None
            raise bad_request(str(error), FieldProblem("subscription", str(error))) from None
        # a target EventBridge can never reach from the broker's bus would only fail later, in the generator
        undeliverable = delivery_problems(deployment, self.backend.config.region)
        if undeliverable:
            raise bad_request(
                "; ".join(undeliverable),
                *(FieldProblem("connection_string", problem.split(": ", 1)[1]) for problem in undeliverable),
            )
        self.quotas.check_pattern(deployment)
        counters = self.quotas.reserve(subscription_demand(record.connection_type))
        intent = intent.model_copy(update={"subscriptions": [record]})
        try:
            catalog.commit_subscription(record, intent, counters)
        except DuplicateSubscription as raced:
            raise _duplicate(raced.existing) from None
        except VersionMissing:
            raise not_found(f"event type {request.event_type!r} has no version {request.version}") from None
        except QuotaExceeded as exceeded:
            raise self.quotas.refusal(exceeded) from None
        except CatalogConflict:
            raise conflict("the subscription could not be stored; retry") from None
        run_intent(self.workflows, intent, f"subscription {subscription_id}")
        return to_api(record)

    def list(self, team: str, limit: int, cursor: str | None) -> SubscriptionList:
        """The caller's subscriptions (Query on the team index)."""
        start = decode_cursor(cursor)
        partition = team_partition(team)
        if start is not None and start.get(BY_TEAM.partition_key) != partition:
            raise bad_request("invalid cursor", FieldProblem("cursor", "belongs to a different listing"))
        page = self.backend.catalog.list_page(BY_TEAM, partition, limit, start, "SUBSCRIPTION#")
        return SubscriptionList(
            items=[to_api(SubscriptionRecord.from_item(item)) for item in page.items],
            next_cursor=encode_cursor(page.last_key),
        )

    def _visible(self, team: str, subscription_id: str) -> SubscriptionRecord:
        record = self.backend.catalog.get_subscription(subscription_id)
        if record is None:
            raise not_found(f"subscription {subscription_id} not found")
        return record

    def get(self, team: str, subscription_id: str) -> SubscriptionDetail:
        """The subscription with its latest deployment's status; readable by its team and the event owner."""
        record = self._visible(team, subscription_id)
        if record.team != team:
            event = self.backend.catalog.get_event(record.event_type)
            if event is None or event.owner != team:
                raise forbidden(f"subscription {subscription_id} belongs to team {record.team}")
        deployment = self.backend.deployments.get(record.deployment_id)
        return SubscriptionDetail(
            **to_api(record).model_dump(),
            deployment_status=deployment.status if deployment else DeploymentStatus.PENDING,
            instructions=deployment.instructions if deployment else None,
            error=deployment.error if deployment else None,
        )

    def delete(self, team: str, subscription_id: str) -> str:
        """Only the subscribing team may delete; returns the teardown deployment id.

        A subscription the event owner already removed is only forgotten: its teardown was requested then.
        """
        record = self._visible(team, subscription_id)
        if record.team != team:
            raise forbidden(f"subscription {subscription_id} belongs to team {record.team}; only it may delete it")
        if not record.active:
            self.backend.catalog.delete_subscription(subscription_id)
            return record.deployment_id
        return self.remove(record, team)

    def remove(self, record: SubscriptionRecord, requested_by: str, tombstone: SubscriptionStatus | None = None) -> str:
        """Delete a subscription and request its consumer's teardown (also used by forced event deletes).

        ``tombstone`` (forced deletes) keeps the item for its team with that status and the teardown's id.
        """
        catalog = self.backend.catalog
        event = catalog.get_event(record.event_type)
        if event is None:
            raise not_found(f"event type {record.event_type!r} of subscription {record.subscription_id} not found")
        deployment_id = self.backend.deployment_id()
        intent = IntentRecord(
            intent_id=self.backend.intent_id(),
            op="unsubscribe",
            event_type=record.event_type,
            versions=[record.version],
            deployment_ids={record.subscription_id: deployment_id},
            subscriptions=[record],
            event=event,
            requested_by=requested_by,
            requested_at=self.backend.clock(),
        )
        kept = (
            record.model_copy(
                update={"status": tombstone, "deployment_id": deployment_id, "updated_at": intent.requested_at}
            )
            if tombstone is not None
            else None
        )
        try:
            catalog.commit_unsubscribe(
                record, intent, kept, self.quotas.release(subscription_demand(record.connection_type))
            )
        except CatalogConflict:
            raise conflict(f"subscription {record.subscription_id} changed concurrently; retry") from None
        run_intent(self.workflows, intent, f"removal of subscription {record.subscription_id}")
        return deployment_id
