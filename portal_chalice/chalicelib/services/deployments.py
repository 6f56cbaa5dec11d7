"""Deployment files: reserve the component's sequence, record the deployment, write the file.

Order matters: the record (status ``pending``) exists before the file, because the generator
updates the record as soon as the file lands. Every step is idempotent for a given deployment id,
so a failed submission is completed by simply submitting again (``manage reconcile`` does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from broker_contract.models import AnyDeployment, DeploymentAction, DeploymentKind
from broker_contract.names import deployment_file_key
from broker_contract.records import DeploymentRecord
from chalicelib.errors import forbidden, not_found
from chalicelib.services.backend import Backend


@dataclass(frozen=True)
class DeploymentPlan:
    """One deployment to request; ``build(sequence)`` returns the file's content."""

    deployment_id: str
    kind: DeploymentKind
    component_id: str
    action: DeploymentAction
    event_type: str
    version: int
    requested_by: str
    requested_at: datetime
    build: Callable[[int], AnyDeployment]
    subscription_id: str | None = None
    #: the event type's owner at request time: it may read the deployment, whoever owns the name later
    event_owner: str | None = None


def submit(backend: Backend, plan: DeploymentPlan) -> DeploymentRecord:
    """Request ``plan`` (idempotent per deployment id): sequence, pending record, then the file."""
    store = backend.deployments
    record = store.get(plan.deployment_id)
    if record is None:
        sequence = store.reserve_sequence(plan.component_id)
        bucket = backend.config.producer_bucket_name if plan.kind == "producer" else backend.config.consumer_bucket_name
        # another run of the same intent may have recorded it first: the stored record (and its sequence) wins
        record = store.create_pending(
            DeploymentRecord.pending(
                deployment_id=plan.deployment_id,
                kind=plan.kind,
                component_id=plan.component_id,
                action=plan.action,
                sequence=sequence,
                requested_by=plan.requested_by,
                requested_at=plan.requested_at,
                file_bucket=bucket,
                file_key=deployment_file_key(plan.component_id, sequence, plan.deployment_id),
                event_type=plan.event_type,
                version=plan.version,
                subscription_id=plan.subscription_id,
                event_owner=plan.event_owner,
                at=backend.clock(),
            )
        )
    # Never rewrite a file the generator may already have handled: that would trigger it twice.
    if backend.storage.get_json(record.file_bucket, record.file_key) is None:
        document = plan.build(record.sequence)
        backend.storage.put_text(record.file_bucket, record.file_key, document.model_dump_json(indent=2))
    return record


class DeploymentService:
    """``GET /deployments/{id}`` and its Terraform artifact."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _readable(self, team: str, deployment_id: str) -> DeploymentRecord:
        record = self.backend.deployments.get(deployment_id)
        if record is None:
            raise not_found(f"deployment {deployment_id} not found")
        if record.requested_by != team and not self._owned_event_then(team, record):
            raise forbidden(f"deployment {deployment_id} belongs to team {record.requested_by}")
        return record

    def _owned_event_then(self, team: str, record: DeploymentRecord) -> bool:
        """Whether ``team`` owned the event type when the deployment was requested (not merely its name today)."""
        if record.event_owner is not None:
            return record.event_owner == team
        # recorded before deployments kept the owner: today's owner counts only if its event type existed then
        event = self.backend.catalog.get_event(record.event_type)
        return event is not None and event.owner == team and event.created_at <= record.requested_at

    def get(self, team: str, deployment_id: str) -> DeploymentRecord:
        """The record; readable by the requesting team and by the team owning the event type when it was requested."""
        return self._readable(team, deployment_id)

    def terraform(self, team: str, deployment_id: str) -> object:
        """The synthesized Terraform JSON; 404 with the current status until the generator wrote it."""
        record = self._readable(team, deployment_id)
        missing = not_found(
            f"deployment {deployment_id} has no synthesized Terraform yet (status {record.status.value}); "
            "try again once its status is 'synthesized' or later"
        )
        if record.artifact_key is None:
            raise missing
        document = self.backend.storage.get_json(self.backend.config.artifact_bucket_name, record.artifact_key)
        if document is None:
            raise missing
        return document
