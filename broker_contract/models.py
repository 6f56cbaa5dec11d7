"""The deployment-file contract between the portal (writer) and the generator (reader).

Every producer or consumer change becomes one JSON file in that side's S3 bucket; the generator
validates it with these models before building anything. ``schema_version`` is the version of
this file format, so a future format can be told apart from today's.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, field_validator, model_validator

from broker_contract.names import (
    DEPLOYMENT_ID_PATTERN,
    ENVIRONMENT_PATTERN,
    IDENTIFIER_MAX_LENGTH,
    IDENTIFIER_PATTERN,
    IDENTIFIER_RULE,
    MAX_VERSION,
    SUBSCRIPTION_ID_PATTERN,
    consumer_component_id,
    detail_type,
    producer_component_id,
    producer_endpoint_path,
)
from broker_contract.schemas import draft04_problems

CONTRACT_VERSION: Literal["1.0"] = "1.0"

Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN, max_length=IDENTIFIER_MAX_LENGTH)]
Version = Annotated[int, Field(ge=1, le=MAX_VERSION)]
SubscriptionId = Annotated[str, Field(pattern=SUBSCRIPTION_ID_PATTERN)]
DeploymentId = Annotated[str, Field(pattern=DEPLOYMENT_ID_PATTERN)]
Environment = Annotated[str, Field(pattern=ENVIRONMENT_PATTERN)]

# ARNs the broker accepts as consumer targets and secret references.
_PARTITION = r"aws(?:-cn|-us-gov)?"
_REGION = r"[a-z]{2}(?:-[a-z]+)+-\d"
LAMBDA_ARN_PATTERN = (
    rf"^arn:{_PARTITION}:lambda:{_REGION}:\d{{12}}:function:[A-Za-z0-9_-]{{1,64}}(?::[A-Za-z0-9$_-]{{1,128}})?$"
)
SQS_ARN_PATTERN = rf"^arn:{_PARTITION}:sqs:{_REGION}:\d{{12}}:[A-Za-z0-9_-]{{1,75}}(?:\.fifo)?$"
SECRET_ARN_PATTERN = rf"^arn:{_PARTITION}:secretsmanager:{_REGION}:\d{{12}}:secret:[A-Za-z0-9/_+=.@-]{{1,512}}$"


#: What each pattern means, in words, for error messages that must name the rule a user broke.
PATTERN_RULES: dict[str, str] = {
    IDENTIFIER_PATTERN: f"must be {IDENTIFIER_RULE}",
    SUBSCRIPTION_ID_PATTERN: "must be a subscription id: 'sub-' and 16 lowercase hex digits",
    DEPLOYMENT_ID_PATTERN: "must be a deployment id: 'dep-' and 16 lowercase hex digits",
    LAMBDA_ARN_PATTERN: "must be a Lambda function ARN: arn:aws:lambda:<region>:<12-digit account>:function:<name>",
    SQS_ARN_PATTERN: "must be an SQS queue ARN: arn:aws:sqs:<region>:<12-digit account>:<queue name>",
    SECRET_ARN_PATTERN: "must be a Secrets Manager secret ARN: arn:aws:secretsmanager:<region>:<account>:secret:<name>",
}


class StrictModel(BaseModel):
    """Base of every contract model: unknown fields are refused, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class ProducerConnectionType(StrEnum):
    """How a producer puts events on the bus."""

    HTTPS = "HTTPS"
    SQS = "SQS"


class ConsumerConnectionType(StrEnum):
    """How a consumer receives events from the bus."""

    LAMBDA = "LAMBDA"
    SQS = "SQS"
    HTTPS = "HTTPS"


class DeploymentAction(StrEnum):
    """What the generator does with a component: create/update it, or tear it down."""

    DEPLOY = "deploy"
    DESTROY = "destroy"


class DeploymentStatus(StrEnum):
    """Life of one deployment, as recorded by the generator in the catalog."""

    PENDING = "pending"
    SYNTHESIZED = "synthesized"
    APPLYING = "applying"
    DEPLOYED = "deployed"
    DESTROYING = "destroying"
    DESTROYED = "destroyed"
    FAILED = "failed"
    #: an older file arrived after a newer one for the same component, or the same file twice
    SUPERSEDED = "superseded"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_STATUSES


_FINAL_STATUSES = {
    DeploymentStatus.DEPLOYED,
    DeploymentStatus.DESTROYED,
    DeploymentStatus.FAILED,
    DeploymentStatus.SUPERSEDED,
}

_S = DeploymentStatus
#: the statuses a deployment may be in before each transition (``broker_contract.deployment_store`` enforces it
#: with a conditional write): ``deployed``, ``destroyed`` and ``superseded`` are never left; a status outside the
#: set means another run got there first
ALLOWED_FROM: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    _S.SYNTHESIZED: frozenset({_S.PENDING, _S.FAILED, _S.SYNTHESIZED, _S.APPLYING, _S.DESTROYING}),
    _S.APPLYING: frozenset({_S.SYNTHESIZED}),
    _S.DESTROYING: frozenset({_S.SYNTHESIZED}),
    _S.DEPLOYED: frozenset({_S.APPLYING}),
    _S.DESTROYED: frozenset({_S.DESTROYING}),
    _S.FAILED: frozenset({_S.PENDING, _S.FAILED, _S.SYNTHESIZED, _S.APPLYING, _S.DESTROYING}),
    _S.SUPERSEDED: frozenset({_S.PENDING, _S.FAILED, _S.SYNTHESIZED, _S.APPLYING, _S.DESTROYING}),
}


class EventAttributes(StrictModel):
    """Routing attributes every event carries in its envelope."""

    source: str = Field(min_length=1, max_length=256, description="the producing application")
    target: str = Field(min_length=1, max_length=256, description="the target unit consumers subscribe to")


class EnvelopeMetadata(StrictModel):
    event_attributes: EventAttributes


class Envelope(BaseModel):
    """An event as producers send it and consumers receive it in ``detail``."""

    model_config = ConfigDict(extra="forbid")

    metadata: EnvelopeMetadata
    data: dict[str, Any]


class EventVersionRef(StrictModel):
    """One version of one event type, and who produces it."""

    application: Identifier = Field(description="producing application; the EventBridge source of its events")
    event_type: Identifier
    version: Version

    @property
    def detail_type(self) -> str:
        return detail_type(self.event_type, self.version)


class _DeploymentBase(StrictModel):
    schema_version: Literal["1.0"] = Field(
        default=CONTRACT_VERSION, description="version of this deployment-file format"
    )
    deployment_id: DeploymentId
    action: DeploymentAction
    sequence: int = Field(
        ge=1,
        description="increases with every change of the same component; the generator ignores older files",
    )
    environment: Environment
    requested_by: Identifier = Field(description="team that asked for the change")
    requested_at: datetime


AccountId = Annotated[str, Field(pattern=r"^\d{12}$")]


class _ProducerAccess(StrictModel):
    allowed_accounts: list[AccountId] = Field(
        default_factory=list,
        max_length=20,
        description=(
            "AWS accounts whose principals may publish this event version (assume its publisher role, or send to "
            "its queue); the broker's own account always may"
        ),
    )


class HttpsProducer(_ProducerAccess):
    """Producer that POSTs events to an API Gateway endpoint validated by the envelope schema."""

    connection_type: Literal[ProducerConnectionType.HTTPS] = ProducerConnectionType.HTTPS
    auth: Literal["API_KEY", "IAM"] = Field(default="API_KEY", description="how the producer authenticates")
    throttle_rate_per_second: int = Field(default=50, ge=1, le=10_000)
    throttle_burst: int = Field(default=100, ge=1, le=5_000)


class SqsProducer(_ProducerAccess):
    """Producer that sends events to an SQS queue piped into the bus."""

    connection_type: Literal[ProducerConnectionType.SQS] = ProducerConnectionType.SQS
    max_receive_count: int = Field(default=5, ge=1, le=1000, description="attempts before a message goes to the DLQ")


#: the two kinds of deployment file (and of component): the ``kind`` tag of each
DeploymentKind = Literal["producer", "consumer"]


class ProducerDeployment(_DeploymentBase):
    """Deployment file of one producer: one event version and how it is produced."""

    kind: Literal["producer"] = "producer"
    event: EventVersionRef
    description: str = Field(default="", max_length=1024)
    producer: Annotated[HttpsProducer | SqsProducer, Field(discriminator="connection_type")]
    envelope_schema: dict[str, Any] = Field(description="the full draft-04 schema of the event envelope")

    @field_validator("envelope_schema")
    @classmethod
    def _draft04(cls, value: dict[str, Any]) -> dict[str, Any]:
        problems = draft04_problems(value)
        if problems:
            raise ValueError("; ".join(str(problem) for problem in problems))
        return value

    @property
    def component_id(self) -> str:
        return producer_component_id(self.event.event_type, self.event.version)

    @property
    def endpoint_path(self) -> str | None:
        if self.producer.connection_type is ProducerConnectionType.HTTPS:
            return producer_endpoint_path(self.event.event_type, self.event.version)
        return None


def _without_userinfo(url: AnyUrl, field: str) -> AnyUrl:
    """Credentials in a URL would be stored in plain text (catalog, deployment file, Terraform): refuse them."""
    if url.username or url.password:
        raise ValueError(
            f"{field} must not carry credentials (user:password@host): "
            "give them through auth, a reference to a Secrets Manager secret"
        )
    return url


class SecretReference(StrictModel):
    """A secret held in AWS Secrets Manager; the broker stores its ARN, never its value."""

    secret_arn: str = Field(pattern=SECRET_ARN_PATTERN)


class ApiKeyAuth(SecretReference):
    """The secret holds the API key value; it is sent in ``header_name``."""

    type: Literal["API_KEY"] = "API_KEY"
    header_name: str = Field(default="x-api-key", pattern=r"^[A-Za-z0-9-]{1,128}$")


class BasicAuth(SecretReference):
    """The secret holds JSON ``{"username": ..., "password": ...}``."""

    type: Literal["BASIC"] = "BASIC"


class OAuthClientCredentials(SecretReference):
    """The secret holds JSON ``{"client_id": ..., "client_secret": ...}``."""

    type: Literal["OAUTH_CLIENT_CREDENTIALS"] = "OAUTH_CLIENT_CREDENTIALS"
    token_url: AnyUrl
    scopes: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("token_url")
    @classmethod
    def _https(cls, value: AnyUrl) -> AnyUrl:
        if value.scheme != "https":
            raise ValueError("token_url must use https")
        return _without_userinfo(value, "token_url")


HttpsAuth = Annotated[ApiKeyAuth | BasicAuth | OAuthClientCredentials, Field(discriminator="type")]


class LambdaConsumer(StrictModel):
    """Events are delivered by invoking the consumer's Lambda function."""

    connection_type: Literal[ConsumerConnectionType.LAMBDA] = ConsumerConnectionType.LAMBDA
    connection_string: str = Field(pattern=LAMBDA_ARN_PATTERN, description="ARN of the consumer's function")


class SqsConsumer(StrictModel):
    """Events are delivered to the consumer's SQS queue."""

    connection_type: Literal[ConsumerConnectionType.SQS] = ConsumerConnectionType.SQS
    connection_string: str = Field(pattern=SQS_ARN_PATTERN, description="ARN of the consumer's queue")
    manage_queue_policy: bool = Field(
        default=True,
        description="the broker adds the statement letting the rule send; false when the queue is not ours to change",
    )


class HttpsConsumer(StrictModel):
    """Events are POSTed to the consumer's HTTPS endpoint through an EventBridge API destination."""

    connection_type: Literal[ConsumerConnectionType.HTTPS] = ConsumerConnectionType.HTTPS
    connection_string: AnyUrl = Field(description="https URL of the consumer's endpoint")
    auth: HttpsAuth | None = None
    rate_limit_per_second: int = Field(default=10, ge=1, le=300)

    @field_validator("connection_string")
    @classmethod
    def _https(cls, value: AnyUrl) -> AnyUrl:
        if value.scheme != "https":
            raise ValueError("connection_string must be an https URL")
        if value.host in (None, "", "localhost") or re.fullmatch(r"[\d.]+", value.host or ""):
            raise ValueError("connection_string must name a public host, not localhost or an IP address")
        return _without_userinfo(value, "connection_string")


#: a consumer of any connection type, told apart by ``connection_type``
Consumer = Annotated[LambdaConsumer | SqsConsumer | HttpsConsumer, Field(discriminator="connection_type")]
ContentFilter = dict[str, list[Any]]
#: delivery settings of a subscription's rule target, within what EventBridge accepts
RetryAttempts = Annotated[int, Field(ge=0, le=185)]
MaximumEventAge = Annotated[int, Field(ge=60, le=86_400)]
DEFAULT_RETRY_ATTEMPTS = 8
DEFAULT_MAXIMUM_EVENT_AGE = 3600


class ConsumerDeployment(_DeploymentBase):
    """Deployment file of one consumer: one subscription to one event version."""

    kind: Literal["consumer"] = "consumer"
    subscription_id: SubscriptionId
    event: EventVersionRef
    target_unit: Identifier = Field(description="matched against metadata.event_attributes.target")
    consumer: Consumer
    content_filter: dict[str, Any] | None = Field(
        default=None,
        description="EventBridge pattern fragment applied under detail.data (fields must exist in the schema)",
    )
    max_retry_attempts: RetryAttempts = DEFAULT_RETRY_ATTEMPTS
    max_event_age_seconds: MaximumEventAge = DEFAULT_MAXIMUM_EVENT_AGE

    @property
    def component_id(self) -> str:
        return consumer_component_id(self.subscription_id)

    @model_validator(mode="after")
    def _filter_is_pattern(self) -> ConsumerDeployment:
        if self.content_filter is not None:
            _check_pattern_fragment(self.content_filter, "content_filter")
        return self


def _check_pattern_fragment(fragment: Any, where: str) -> None:
    """An EventBridge pattern fragment: objects of objects whose leaves are non-empty lists."""
    if not isinstance(fragment, dict) or not fragment:
        raise ValueError(f"{where} must be a non-empty object")
    for key, value in fragment.items():
        if isinstance(value, dict):
            _check_pattern_fragment(value, f"{where}.{key}")
        elif not isinstance(value, list) or not value:
            raise ValueError(f"{where}.{key} must be a non-empty list of values or matchers")


#: a deployment file of either kind, as a type
AnyDeployment = ProducerDeployment | ConsumerDeployment
Deployment = Annotated[AnyDeployment, Field(discriminator="kind")]
