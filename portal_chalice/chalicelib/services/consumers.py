"""Who consumes an event (its owner's view), and changing a subscription without losing it.

A change writes the subscription and a ``subscribe`` intent in one conditional transaction, then a
new consumer deployment of the same component: the generator updates the rule and its target in
place (same Terraform state), so the subscription keeps its rule, DLQ and identity.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from broker_contract.catalog import BY_LISTING
from broker_contract.models import DeploymentAction, DeploymentStatus
from broker_contract.schemas import data_field_paths
from chalicelib.aws.conflicts import CatalogConflict
from chalicelib.errors import FieldProblem, bad_request, conflict, forbidden, from_validation_error, not_found
from chalicelib.models import (
    EventSubscription,
    EventSubscriptionList,
    Subscription,
    SubscriptionChangeRequest,
)
from chalicelib.records import IntentRecord, SubscriptionRecord, event_subscriptions_partition
from chalicelib.services.backend import Backend
from chalicelib.services.pagination import decode_cursor, encode_cursor
from chalicelib.services.subscriptions import filter_problems, to_api
from chalicelib.services.workflows import Workflows, consumer_deployment, run_intent


def owned_subscription(backend: Backend, team: str, subscription_id: str, *, active: bool) -> SubscriptionRecord:
    """The caller's own subscription: 404 unknown, 403 another team's, 409 removed (when ``active``)."""
    record = backend.catalog.get_subscription(subscription_id)
    if record is None:
        raise not_found(f"subscription {subscription_id} not found")
    if record.team != team:
        raise forbidden(f"subscription {subscription_id} belongs to team {record.team}")
    if active and not record.active:
        raise conflict(f"subscription {subscription_id} was removed by the event's owner ({record.status})")
    return record


class ConsumerService:
    """Use cases over the consumers of an event; ``team`` is the authenticated caller."""

    def __init__(self, backend: Backend, workflows: Workflows) -> None:
        self.backend = backend
        self.workflows = workflows

    def of_event(self, team: str, event_type: str, limit: int, cursor: str | None) -> EventSubscriptionList:
        """One page of the event's active subscriptions, oldest version first (the owner only)."""
        catalog = self.backend.catalog
        event = catalog.get_event(event_type)
        if event is None:
            raise not_found(f"event type {event_type!r} not found")
        if event.owner != team:
            raise forbidden(f"event type {event_type!r} is owned by team {event.owner}; only it sees its consumers")
        partition = event_subscriptions_partition(event_type)
        start = decode_cursor(cursor)
        if start is not None and start.get(BY_LISTING.partition_key) != partition:
            raise bad_request("invalid cursor", FieldProblem("cursor", "belongs to a different listing"))
        page = catalog.list_page(BY_LISTING, partition, limit, start)
        items = []
        for item in page.items:
            record = SubscriptionRecord.from_item(item)
            deployment = self.backend.deployments.get(record.deployment_id)
            items.append(
                EventSubscription(
                    subscription_id=record.subscription_id,
                    team=record.team,
                    connection_type=record.connection_type,
                    target_unit=record.target_unit,
                    version=record.version,
                    status=record.status,
                    deployment_id=record.deployment_id,
                    deployment_status=deployment.status if deployment else DeploymentStatus.PENDING,
                )
            )
        return EventSubscriptionList(items=items, next_cursor=encode_cursor(page.last_key))

    def change(self, team: str, subscription_id: str, request: SubscriptionChangeRequest) -> Subscription:
        """Apply a PATCH: validate the whole new deployment file, store, then request the deployment."""
        record = owned_subscription(self.backend, team, subscription_id, active=True)
        catalog = self.backend.catalog
        event = catalog.get_event(record.event_type)
        version = catalog.get_version(record.event_type, record.version)
        if event is None or version is None:
            raise conflict(f"event type {record.event_type!r} v{record.version} is being removed")
        updates: dict[str, Any] = {}
        changed = request.model_fields_set
        if "content_filter" in changed:
            if request.content_filter is not None:
                problems = filter_problems(request.content_filter, data_field_paths(version.data_schema))
                if problems:
                    raise bad_request(
                        "invalid content_filter: " + "; ".join(f"{p.field}: {p.rule}" for p in problems), *problems
                    )
            updates["content_filter"] = request.content_filter
        for name in ("retry_attempts", "maximum_event_age_seconds"):
            if name in changed:
                updates[name] = getattr(request, name)
        if "manage_queue_policy" in changed:
            if record.connection_type != "SQS":
                raise bad_request(
                    "manage_queue_policy is only for SQS subscriptions",
                    FieldProblem("manage_queue_policy", "only allowed when connection_type is SQS"),
                )
            updates["manage_queue_policy"] = request.manage_queue_policy
        if all(getattr(record, name) == value for name, value in updates.items()):
            return to_api(record)
        now = self.backend.clock()
        deployment_id = self.backend.deployment_id()
        updated = record.model_copy(update={**updates, "deployment_id": deployment_id, "updated_at": now})
        try:
            consumer_deployment(
                self.backend.config.environment,
                event,
                updated,
                action=DeploymentAction.DEPLOY,
                deployment_id=deployment_id,
                sequence=1,
                requested_by=team,
                requested_at=now,
            )
        except ValidationError as error:
            raise from_validation_error(error) from None
        intent = IntentRecord(
            intent_id=self.backend.intent_id(),
            op="subscribe",
            event_type=record.event_type,
            versions=[record.version],
            deployment_ids={subscription_id: deployment_id},
            subscriptions=[updated],
            requested_by=team,
            requested_at=now,
        )
        try:
            catalog.replace_subscription(updated, record.deployment_id, intent)
        except CatalogConflict:
            raise conflict(f"subscription {subscription_id} changed concurrently; read it again and retry") from None
        run_intent(self.workflows, intent, f"change of subscription {subscription_id}")
        return to_api(updated)
