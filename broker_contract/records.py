"""The deployment record: how portal and generator share one deployment's life in the catalog.

The portal creates the record (status ``pending``) after reserving the component's next sequence;
the generator creates it too when a file arrives without one, then moves it through ``synthesized``,
``applying`` ... and writes the error, the artifact key and any instructions for the owner. Both do
so through ``broker_contract.deployment_store``, the record's one owner; this module only says what
a record holds and how it is laid out as an item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from broker_contract.catalog import component_deployments_index_key, deployment_key
from broker_contract.models import (
    AnyDeployment,
    ConsumerDeployment,
    DeploymentAction,
    DeploymentKind,
    DeploymentStatus,
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class StatusChange(BaseModel):
    """One transition in a deployment's history."""

    model_config = ConfigDict(extra="forbid")

    status: DeploymentStatus
    at: datetime
    detail: str | None = None


class DeploymentRecord(BaseModel):
    """A deployment as stored in the catalog and returned by ``GET /deployments/{id}``."""

    model_config = ConfigDict(extra="ignore")

    deployment_id: str
    kind: DeploymentKind
    component_id: str
    action: DeploymentAction
    sequence: int
    status: DeploymentStatus = DeploymentStatus.PENDING
    requested_by: str
    requested_at: datetime
    updated_at: datetime
    file_bucket: str
    file_key: str
    event_type: str
    version: int
    subscription_id: str | None = None
    event_owner: str | None = Field(
        default=None, description="team owning the event type when the deployment was requested (read access)"
    )
    error: str | None = None
    artifact_key: str | None = Field(default=None, description="S3 key of the synthesized Terraform JSON")
    instructions: str | None = Field(default=None, description="what the owner must do for events to arrive")
    outputs: dict[str, str] = Field(default_factory=dict, description="e.g. the producer's queue URL or endpoint")
    history: list[StatusChange] = Field(default_factory=list)

    @classmethod
    def pending(
        cls,
        *,
        deployment_id: str,
        kind: DeploymentKind,
        component_id: str,
        action: DeploymentAction,
        sequence: int,
        requested_by: str,
        requested_at: datetime,
        file_bucket: str,
        file_key: str,
        event_type: str,
        version: int,
        at: datetime,
        subscription_id: str | None = None,
        event_owner: str | None = None,
        detail: str | None = None,
    ) -> DeploymentRecord:
        """A new record, status ``pending`` since ``at`` (the one place a record is made)."""
        return cls(
            deployment_id=deployment_id,
            kind=kind,
            component_id=component_id,
            action=action,
            sequence=sequence,
            status=DeploymentStatus.PENDING,
            requested_by=requested_by,
            requested_at=requested_at,
            updated_at=at,
            file_bucket=file_bucket,
            file_key=file_key,
            event_type=event_type,
            version=version,
            subscription_id=subscription_id,
            event_owner=event_owner,
            history=[StatusChange(status=DeploymentStatus.PENDING, at=at, detail=detail)],
        )

    @classmethod
    def for_file(
        cls,
        deployment: AnyDeployment,
        file_bucket: str,
        file_key: str,
        at: datetime,
        detail: str | None = None,
    ) -> DeploymentRecord:
        """The pending record of a deployment file found at ``s3://file_bucket/file_key``."""
        return cls.pending(
            deployment_id=deployment.deployment_id,
            kind=deployment.kind,
            component_id=deployment.component_id,
            action=deployment.action,
            sequence=deployment.sequence,
            requested_by=deployment.requested_by,
            requested_at=deployment.requested_at,
            file_bucket=file_bucket,
            file_key=file_key,
            event_type=deployment.event.event_type,
            version=deployment.event.version,
            subscription_id=deployment.subscription_id if isinstance(deployment, ConsumerDeployment) else None,
            at=at,
            detail=detail,
        )

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item in document form (``broker_contract.dynamo_items.serialize`` makes it attribute values)."""
        item = self.model_dump(mode="json", exclude_none=True)
        item.update(deployment_key(self.deployment_id))
        item.update(component_deployments_index_key(self.component_id, self.sequence))
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> DeploymentRecord:
        return cls.model_validate({key: plain_numbers(value) for key, value in item.items()})


def plain_numbers(value: Any) -> Any:
    """``value`` with DynamoDB's Decimals turned into ints (whole) or floats, through lists, sets and maps."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain_numbers(item) for item in value]
    if isinstance(value, set):
        return {plain_numbers(item) for item in value}
    if isinstance(value, dict):
        return {key: plain_numbers(item) for key, item in value.items()}
    return value
