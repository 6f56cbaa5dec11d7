"""Request and response bodies of the portal API (the OpenAPI document is generated from these)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from broker_contract.models import (
    ConsumerConnectionType,
    DeploymentStatus,
    HttpsAuth,
    Identifier,
    MaximumEventAge,
    ProducerConnectionType,
    RetryAttempts,
)
from broker_contract.names import MAX_VERSION, VERSION_RULE, VERSION_TEXT_PATTERN
from chalicelib.services.compat import CompatibilityMode

#: the mode of an event type created without one: consumers of earlier versions keep working
DEFAULT_COMPATIBILITY_MODE = CompatibilityMode.FORWARD

Description = Annotated[str, Field(max_length=1024)]


def _version_number(value: Any) -> Any:
    """A version is a whole number or a string of digits; booleans and floats are refused."""
    if isinstance(value, bool):
        raise ValueError("version must be a whole number, not a boolean")
    if isinstance(value, str):
        if re.fullmatch(VERSION_TEXT_PATTERN, value) is None:
            raise ValueError(f"version {VERSION_RULE} (digits only)")
        return int(value)
    if isinstance(value, float):
        raise ValueError("version must be a whole number")
    return value


#: a version as the OpenAPI document states it, wherever it is a number
VERSION_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 1, "maximum": MAX_VERSION}
#: the validator runs before the bounds, which hides them from pydantic's JSON Schema (it would say ge/le)
VersionNumber = Annotated[
    int,
    BeforeValidator(_version_number),
    Field(ge=1, le=MAX_VERSION),
    WithJsonSchema({"anyOf": [VERSION_SCHEMA, {"type": "string", "pattern": VERSION_TEXT_PATTERN}]}),
]


class ApiModel(BaseModel):
    """Request bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def _optional_not_null(*names: str) -> Any:
    """JSON Schema of a body whose fields are all optional, at least one given, and ``names`` never null.

    pydantic documents ``X | None = None`` as nullable; these bodies refuse an explicit null, so the
    document says so (and ``minProperties: 1`` says that an empty body is refused).
    """

    def adjust(schema: dict[str, Any]) -> None:
        schema["minProperties"] = 1
        for name in names:
            prop = schema.get("properties", {}).get(name, {})
            choices = [choice for choice in prop.pop("anyOf", []) if choice.get("type") != "null"]
            if len(choices) == 1:
                prop.update(choices[0])
            elif choices:
                prop["anyOf"] = choices
            prop.pop("default", None)

    return adjust


def _no_explicit_null(model: BaseModel, names: tuple[str, ...]) -> None:
    given = [name for name in names if name in model.model_fields_set and getattr(model, name) is None]
    if given:
        raise ValueError(f"{', '.join(repr(name) for name in given)} cannot be null; leave the field out instead")


class EventCreateRequest(ApiModel):
    """``POST /events``: a new event type and the JSON Schema (draft-04) of its ``data``."""

    application: Identifier = Field(description="producing application; the EventBridge source")
    event_type: Identifier
    description: Description = ""
    connection_type: ProducerConnectionType
    data: dict[str, Any] = Field(description="JSON Schema draft-04 of the event's data object")
    compatibility_mode: CompatibilityMode = Field(
        default=DEFAULT_COMPATIBILITY_MODE, description="how each new version must relate to earlier ones"
    )


class EventUpdateRequest(ApiModel):
    """``PUT /events/{event_type}``: a new description, a new data schema (next version), or both."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_optional_not_null("description", "data", "compatibility_mode")
    )

    description: Description | None = None
    data: dict[str, Any] | None = None
    compatibility_mode: CompatibilityMode | None = Field(
        default=None, description="new mode; applies to the schema in the same request too"
    )

    @model_validator(mode="after")
    def _something(self) -> EventUpdateRequest:
        _no_explicit_null(self, ("description", "data", "compatibility_mode"))
        if self.description is None and self.data is None and self.compatibility_mode is None:
            raise ValueError("give 'description', 'data', 'compatibility_mode' or several")
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
    compatibility_mode: CompatibilityMode
    created_at: datetime
    updated_at: datetime


class EventList(BaseModel):
    items: list[EventSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class CompatibilityProblem(BaseModel):
    """Where (JSON pointer in the schema that must accept the other's instances) and why."""

    pointer: str
    message: str


class DirectionVerdict(BaseModel):
    """``compatible``: true proven, false broken, null cannot decide (never counted as compatible)."""

    compatible: bool | None
    problems: list[CompatibilityProblem]


class VersionCompatibility(BaseModel):
    """A version against the one before it: BACKWARD (it reads what earlier writers wrote) and FORWARD."""

    mode: CompatibilityMode | None = Field(description="the event's mode when this version was created")
    against: int | None = Field(description="the version compared with; null for the first")
    backward: DirectionVerdict
    forward: DirectionVerdict


class VersionSummary(BaseModel):
    version: int
    description: str
    created_at: datetime
    created_by: str
    subscription_count: int
    deployment_id: str
    backward_compatible: bool | None
    compatibility_problems: list[str]
    compatibility: VersionCompatibility
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
    compatibility: VersionCompatibility | None = None

    model_config = ConfigDict(populate_by_name=True)


class SchemaDiff(BaseModel):
    """``GET /events/{event_type}/diff``: both directions between two versions, and both schemas."""

    event_type: str
    from_: int = Field(alias="from")
    to: int
    mode: CompatibilityMode
    backward: DirectionVerdict = Field(description="'to' accepts every instance valid under 'from'")
    forward: DirectionVerdict = Field(description="'from' accepts every instance valid under 'to'")
    from_schema: dict[str, Any]
    to_schema: dict[str, Any]

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
    deployment_id: str = Field(description="the latest deployment of the consumer (its teardown once removed)")
    retry_attempts: int = Field(description="retries of a failed delivery before the event goes to the DLQ")
    maximum_event_age_seconds: int
    manage_queue_policy: bool = Field(description="SQS only: the broker writes the queue policy")
    status: Literal["active", "event_deleted", "version_deleted"] = Field(
        description="active, or removed by the event owner (event or version force-deleted)"
    )


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


class EventSubscription(BaseModel):
    """A consumer of an event type, as its owner sees it (no connection strings or secrets)."""

    subscription_id: str
    team: str
    connection_type: ConsumerConnectionType
    target_unit: str
    version: int
    status: Literal["active", "event_deleted", "version_deleted"]
    deployment_id: str
    deployment_status: DeploymentStatus


class EventSubscriptionList(BaseModel):
    """``GET /events/{event_type}/subscriptions``: who consumes the event (owner only)."""

    items: list[EventSubscription]
    next_cursor: str | None


class SampleEvent(BaseModel):
    """A sample envelope ``{"metadata": {"event_attributes": {"source", "target"}}, "data": {...}}``.

    Any JSON object is accepted here: it is judged by the version's envelope schema, as the producer
    endpoint would judge it, and every refusal is reported in the answer rather than as a 400.
    """

    model_config = ConfigDict(extra="allow")


class SubscriptionMatch(BaseModel):
    subscription_id: str
    team: str
    target_unit: str
    connection_type: ConsumerConnectionType


class TrialResult(BaseModel):
    """``POST /events/{event_type}/versions/{version}/test``: validation as the producer endpoint, and routing."""

    valid: bool
    errors: list[ErrorDetail] = Field(description="field: JSON pointer in the envelope; rule: what it breaks")
    detail_type: str
    source: str = Field(description="the EventBridge source the producer endpoint sets (the application)")
    matches: list[SubscriptionMatch] = Field(
        description="subscriptions whose rule would match (the caller's own; all of them for the owner)"
    )


class SubscriptionChangeRequest(ApiModel):
    """``PATCH /subscriptions/{id}``: any of these; ``content_filter: null`` removes the filter."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_optional_not_null("retry_attempts", "maximum_event_age_seconds", "manage_queue_policy"),
    )

    content_filter: dict[str, Any] | None = Field(
        default=None, description="EventBridge pattern fragment on data fields declared by the schema"
    )
    retry_attempts: RetryAttempts | None = None
    maximum_event_age_seconds: MaximumEventAge | None = None
    manage_queue_policy: bool | None = Field(default=None, description="SQS subscriptions only")

    @model_validator(mode="after")
    def _something(self) -> SubscriptionChangeRequest:
        if not self.model_fields_set:
            raise ValueError(
                "give any of 'content_filter', 'retry_attempts', 'maximum_event_age_seconds', 'manage_queue_policy'"
            )
        _no_explicit_null(self, ("retry_attempts", "maximum_event_age_seconds", "manage_queue_policy"))
        return self


class ReplayRequest(ApiModel):
    """``POST /subscriptions/{id}/replays``: a window of archived events to deliver again (UTC offsets required)."""

    start: datetime
    end: datetime


class Replay(BaseModel):
    """A replay of archived events to one subscription's rule."""

    replay_name: str
    subscription_id: str
    state: str = Field(description="STARTING, RUNNING, CANCELLING, COMPLETED, CANCELLED or FAILED")
    state_reason: str | None = None
    start: datetime | None
    end: datetime | None
    replay_started_at: datetime | None = None
    replay_ended_at: datetime | None = None
    events_last_replayed_at: datetime | None = None


class DeadLetter(BaseModel):
    """One event EventBridge could not deliver, with the reason it gave."""

    message_id: str
    body: Any = Field(description="the event as EventBridge tried to deliver it (parsed JSON when it is JSON)")
    error_code: str | None
    error_message: str | None
    sent_at: datetime | None


class DeadLetters(BaseModel):
    """``GET /subscriptions/{id}/dead-letters``."""

    queue_url: str
    count: int = Field(description="approximate number of messages in the dead-letter queue")
    sample: list[DeadLetter]


class Redrive(BaseModel):
    """``POST /subscriptions/{id}/dead-letters/redrive``: events delivered again to the target and removed."""

    moved: int = Field(description="dead letters handed to a replay through the subscription's rule, and deleted")
    failed: int = Field(description="messages left in the queue: not an EventBridge event, or older than the archive")
    replay_name: str | None = Field(description="the replay delivering them (follow it at .../replays/{name})")


class ApiKeyCredential(BaseModel):
    """The header an API-key producer sends, with the key's value (read from API Gateway, never stored)."""

    header: str = Field(description="the header name: x-api-key")
    value: str


class ProducerInstructions(BaseModel):
    """``GET /events/{event_type}/versions/{version}/producer``: what the owning team's producers need to send.

    Taken from the version's producer deployment as applied. Fields that do not apply are absent (not null):
    ``message`` while not ready; ``endpoint_url`` and ``api_key`` or ``publisher_role_arn`` for HTTPS
    producers; ``queue_url`` for SQS producers; ``example`` once ready.
    """

    event_type: str
    version: int
    connection_type: ProducerConnectionType
    deployment_id: str = Field(description="the version's producer deployment")
    deployment_status: DeploymentStatus
    ready: bool = Field(description="the producer is deployed: the fields below can be used as they are")
    message: str | None = Field(default=None, description="what to do when ready is false")
    endpoint_url: str | None = Field(default=None, description="HTTPS producers: where to POST the envelope")
    api_key: ApiKeyCredential | None = Field(default=None, description="HTTPS producers authenticated by API key")
    publisher_role_arn: str | None = Field(
        default=None, description="HTTPS producers authenticated by IAM: the role to sign requests with (SigV4)"
    )
    credentials: str | None = Field(
        default=None, description="IAM-authorized producers: how to get the credentials the example signs with"
    )
    queue_url: str | None = Field(default=None, description="SQS producers: the queue to send the envelope to")
    example: str | None = Field(default=None, description="a complete curl or aws sqs command with a sample envelope")
