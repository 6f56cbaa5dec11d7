"""Request and response bodies of the portal API (the OpenAPI document is generated from these)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from broker_contract.models import (
    ConsumerConnectionType,
    DeploymentStatus,
    HttpsAuth,
    Identifier,
    ProducerConnectionType,
)

Description = Annotated[str, Field(max_length=1024)]


def _version_number(value: Any) -> Any:
    """A version is a whole number or a string of digits; booleans and floats are refused."""
    if isinstance(value, bool):
        raise ValueError("version must be a whole number, not a boolean")
    if isinstance(value, str):
        if re.fullmatch(r"[0-9]{1,4}", value) is None:
            raise ValueError("version must be a whole number (digits only)")
        return int(value)
    if isinstance(value, float):
        raise ValueError("version must be a whole number")
    return value


VersionNumber = Annotated[int, BeforeValidator(_version_number), Field(ge=1, le=9999)]


class ApiModel(BaseModel):
    """Request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class EventCreateRequest(ApiModel):
    """``POST /events``: a new event type and the JSON Schema (draft-04) of its ``data``."""

    application: Identifier = Field(description="producing application; the EventBridge source")
    event_type: Identifier
    description: Description = ""
    connection_type: ProducerConnectionType
    data: dict[str, Any] = Field(description="JSON Schema draft-04 of the event's data object")


class EventUpdateRequest(ApiModel):
    """``PUT /events/{event_type}``: a new description, a new data schema (next version), or both."""

    description: Description | None = None
    data: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _something(self) -> EventUpdateRequest:
        if self.description is None and self.data is None:
            raise ValueError("give 'description', 'data' or both")
        return self


class SubscriptionCreateRequest(ApiModel):
    """``POST /subscriptions``: deliver one event version of a target unit to a Lambda, queue or URL."""

    event_type: Identifier
    version: VersionNumber
    target_unit: Identifier = Field(description="matched against metadata.event_attributes.target")
    connection_type: ConsumerConnectionType
    connection_string: str = Field(min_length=1, max_length=2048, description="Lambda ARN, SQS queue ARN or URL")
    content_filter: dict[str, Any] | None = Field(
        default=None, description="EventBridge pattern fragment on data fields declared by the schema"
    )
    auth: HttpsAuth | None = Field(default=None, description="HTTPS only: a Secrets Manager secret reference")


class EventSummary(BaseModel):
    """An event type as listed."""

    event_type: str
    application: str
    owner: str
    description: str
    connection_type: ProducerConnectionType
    latest_version: int
    revision: int
    created_at: datetime
    updated_at: datetime


class EventList(BaseModel):
    items: list[EventSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class VersionSummary(BaseModel):
    version: int
    description: str
    created_at: datetime
    created_by: str
    subscription_count: int
    deployment_id: str
    backward_compatible: bool | None
    compatibility_problems: list[str]
    producer_endpoint_path: str | None


class EventDetail(EventSummary):
    versions: list[VersionSummary]


class VersionDetail(BaseModel):
    event_type: str
    version: int
    application: str
    detail_type: str
    data_schema: dict[str, Any]
    schema_: dict[str, Any] = Field(alias="schema", description="the full envelope schema (draft-04)")
    producer_endpoint_path: str | None
    subscription_count: int
    deployment_id: str

    model_config = ConfigDict(populate_by_name=True)


class EventChange(BaseModel):
    """Answer of ``POST /events`` and ``PUT /events/{event_type}``."""

    event: EventSummary
    version: int
    version_created: bool
    schema_: dict[str, Any] | None = Field(alias="schema", description="full envelope schema of the new version")
    producer_endpoint_path: str | None
    deployment_id: str | None
    backward_compatible: bool | None = None
    compatibility_problems: list[str] = Field(default_factory=list)

    model_config = ConfigDict(populate_by_name=True)


class Removal(BaseModel):
    """Answer of the DELETE endpoints: what was removed and the teardown deployments requested."""

    event_type: str
    versions: list[int]
    removed_subscriptions: list[str]
    deployment_ids: list[str]


class Subscription(BaseModel):
    subscription_id: str
    event_type: str
    version: int
    team: str
    target_unit: str
    connection_type: ConsumerConnectionType
    connection_string: str
    content_filter: dict[str, Any] | None
    auth: dict[str, Any] | None
    created_at: datetime
    deployment_id: str


class SubscriptionDetail(Subscription):
    deployment_status: DeploymentStatus
    instructions: str | None
    error: str | None


class SubscriptionList(BaseModel):
    items: list[Subscription]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    field: str
    rule: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    """Every 4xx/5xx body."""

    error: ErrorInfo
