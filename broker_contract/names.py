"""The one place that derives every resource name of the broker.

Core stack, portal, generator, producer and consumer stacks all ask this module for names, so a
name is never spelled twice. Every derived name is checked against the AWS limits of the resource
it names; names that would be too long are shortened with a stable hash suffix so they stay unique.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

#: Identifiers the user chooses (event type, application, target unit, team) follow this rule so
#: that every name derived from them is accepted by every AWS service we create resources in.
IDENTIFIER_PATTERN = r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$"
IDENTIFIER_MAX_LENGTH = 48
IDENTIFIER_RULE = (
    "lowercase letters and digits, optionally separated by single '-' or '_', starting with a letter, "
    f"at most {IDENTIFIER_MAX_LENGTH} characters"
)
ENVIRONMENT_PATTERN = r"^[a-z][a-z0-9]{1,9}$"
SUBSCRIPTION_ID_PATTERN = r"^sub-[0-9a-f]{16}$"
DEPLOYMENT_ID_PATTERN = r"^dep-[0-9a-f]{16}$"
#: An event type's versions run from 1 to this; derived names and detail types are sized for its digits.
MAX_VERSION = 9999
#: A version written as text (a path parameter, a query string): digits only, no leading zero. MAX_VERSION is
#: all nines, so "at most as many digits" is exactly "at most MAX_VERSION".
VERSION_TEXT_PATTERN = rf"^[1-9][0-9]{{0,{len(str(MAX_VERSION)) - 1}}}$"
VERSION_RULE = f"must be a whole number from 1 to {MAX_VERSION}"

_IDENTIFIER_RE = re.compile(IDENTIFIER_PATTERN)


def is_identifier(value: str) -> bool:
    """True when ``value`` can be used as an event type, application, target unit or team name."""
    return len(value) <= IDENTIFIER_MAX_LENGTH and _IDENTIFIER_RE.match(value) is not None


@dataclass(frozen=True)
class NameRule:
    """The AWS limits of one kind of name."""

    max_length: int
    pattern: str
    lowercase: bool = False

    def check(self, name: str) -> str:
        if len(name) > self.max_length or re.fullmatch(self.pattern, name) is None:
            raise ValueError(f"derived name {name!r} breaks its AWS rule ({self.pattern}, max {self.max_length})")
        return name


# Limits from the AWS API references of each service.
S3_BUCKET = NameRule(63, r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", lowercase=True)
DYNAMODB_TABLE = NameRule(255, r"[a-zA-Z0-9_.-]{3,255}")
EVENT_BUS = NameRule(256, r"[/.\-_A-Za-z0-9]+")
EVENT_RULE = NameRule(64, r"[.\-_A-Za-z0-9]+")
EVENT_ARCHIVE = NameRule(48, r"[.\-_A-Za-z0-9]+")
EVENT_CONNECTION = NameRule(64, r"[.\-_A-Za-z0-9]+")
API_DESTINATION = NameRule(64, r"[.\-_A-Za-z0-9]+")
PIPE = NameRule(64, r"[.\-_A-Za-z0-9]+")
SCHEMA_REGISTRY = NameRule(64, r"[.\-_A-Za-z0-9@]+")
SQS_QUEUE = NameRule(80, r"[A-Za-z0-9_-]+")
LAMBDA_FUNCTION = NameRule(64, r"[A-Za-z0-9_-]+")
IAM_ROLE = NameRule(64, r"[\w+=,.@-]+")
ECR_REPOSITORY = NameRule(256, r"[a-z0-9]+(?:[._-][a-z0-9]+)*", lowercase=True)
API_GATEWAY_MODEL = NameRule(128, r"[A-Za-z0-9]+")
API_GATEWAY_NAME = NameRule(1024, r"[A-Za-z0-9._ -]+")
STACK = NameRule(100, r"[A-Za-z0-9_-]+")
LOG_GROUP = NameRule(512, r"[.\-_/#A-Za-z0-9]+")


def fit(name: str, rule: NameRule) -> str:
    """Return ``name`` within ``rule``'s length, shortened with a stable hash suffix when too long."""
    if rule.lowercase:
        name = name.lower()
    if len(name) > rule.max_length:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[: rule.max_length - 9].rstrip('-_.')}-{digest}"
    return rule.check(name)


def detail_type(event_type: str, version: int) -> str:
    """EventBridge ``detail-type`` of an event version: ``<event_type>.<version>``."""
    return f"{event_type}.{version}"


def producer_component_id(event_type: str, version: int) -> str:
    """Identity of one producer (one per event version): its state key and its ordering key."""
    return f"producer-{event_type}-v{version}"


def consumer_component_id(subscription_id: str) -> str:
    """Identity of one consumer (one per subscription)."""
    return f"consumer-{subscription_id}"


def producer_endpoint_path(event_type: str, version: int) -> str:
    """Path of the HTTPS producer endpoint on the producers' API."""
    return f"/{event_type}/{version}"


#: Marks, in ``model_token``, what plain camel case cannot tell apart (see there).
MODEL_ESCAPE = "Z"


def model_token(identifier: str) -> str:
    """An identifier in camel case, injectively: ``order_created`` is ``OrderZCreated``, not ``OrderCreated``.

    API Gateway model names allow letters and digits only, and plain camel case maps ``order-created``,
    ``order_created`` alike, and ``order-1`` like ``order1``. Identifiers are lowercase, so an uppercase letter can
    only mean "a '-' before this letter"; everything else goes behind the escape letter ``Z``:
    ``_x`` -> ``ZX``, ``-7`` -> ``Z7``, ``_7`` -> ``Zu7``, and ``-z`` (which would read as an escape) -> ``Zz``.
    Hyphenated names keep the names they always had; the mapping can be read back, so it is injective.
    """
    out = [identifier[:1].upper()]
    index = 1
    while index < len(identifier):
        char = identifier[index]
        if char not in "-_":
            out.append(char)
            index += 1
            continue
        following = identifier[index + 1]
        if char == "-" and following.isalpha():
            out.append(following.upper() if following != "z" else f"{MODEL_ESCAPE}z")
        elif char == "-":
            out.append(f"{MODEL_ESCAPE}{following}")
        elif following.isalpha():
            out.append(f"{MODEL_ESCAPE}{following.upper()}")
        else:
            out.append(f"{MODEL_ESCAPE}u{following}")
        index += 2
    return "".join(out)


@dataclass(frozen=True)
class ProducerNames:
    """Names of the resources one producer stack creates."""

    environment: str
    event_type: str
    version: int

    @property
    def component_id(self) -> str:
        return producer_component_id(self.event_type, self.version)

    @property
    def stack(self) -> str:
        return fit(self.component_id, STACK)

    @property
    def state_key(self) -> str:
        return f"{self.environment}/producers/{self.event_type}/v{self.version}/terraform.tfstate"

    @property
    def detail_type(self) -> str:
        return detail_type(self.event_type, self.version)

    @property
    def endpoint_path(self) -> str:
        return producer_endpoint_path(self.event_type, self.version)

    @property
    def request_model(self) -> str:
        return fit(f"{model_token(self.event_type)}V{self.version}Envelope", API_GATEWAY_MODEL)

    @property
    def request_validator(self) -> str:
        return fit(f"{self.environment}-{self.event_type}-v{self.version}-body", API_GATEWAY_NAME)

    @property
    def usage_plan(self) -> str:
        return fit(f"{self.environment}-{self.event_type}-v{self.version}-producer", API_GATEWAY_NAME)

    @property
    def api_key(self) -> str:
        return fit(f"{self.environment}-{self.event_type}-v{self.version}-producer", API_GATEWAY_NAME)

    @property
    def queue(self) -> str:
        return fit(f"{self.environment}-producer-{self.event_type}-v{self.version}", SQS_QUEUE)

    @property
    def dead_letter_queue(self) -> str:
        return fit(f"{self.environment}-producer-{self.event_type}-v{self.version}-dlq", SQS_QUEUE)

    @property
    def pipe(self) -> str:
        return fit(f"{self.environment}-{self.event_type}-v{self.version}", PIPE)

    @property
    def pipe_role(self) -> str:
        return component_role(self.environment, f"pipe-{self.event_type}-v{self.version}")

    # issue 9: the role a producer assumes to publish this event version, and nothing else
    @property
    def publisher_role(self) -> str:
        return component_role(self.environment, f"publish-{self.event_type}-v{self.version}")


@dataclass(frozen=True)
class ConsumerNames:
    """Names of the resources one consumer stack creates."""

    environment: str
    subscription_id: str

    @property
    def component_id(self) -> str:
        return consumer_component_id(self.subscription_id)

    @property
    def stack(self) -> str:
        return fit(self.component_id, STACK)

    @property
    def state_key(self) -> str:
        return f"{self.environment}/consumers/{self.subscription_id}/terraform.tfstate"

    @property
    def rule(self) -> str:
        return fit(f"{self.environment}-{self.subscription_id}", EVENT_RULE)

    @property
    def dead_letter_queue(self) -> str:
        return fit(f"{self.environment}-{self.subscription_id}-dlq", SQS_QUEUE)

    @property
    def connection(self) -> str:
        return fit(f"{self.environment}-{self.subscription_id}", EVENT_CONNECTION)

    @property
    def api_destination(self) -> str:
        return fit(f"{self.environment}-{self.subscription_id}", API_DESTINATION)

    @property
    def target_role(self) -> str:
        return component_role(self.environment, f"{self.subscription_id}-target")

    # issue 9: EventBridge's execution role for a function or queue in another account
    @property
    def delivery_role(self) -> str:
        return component_role(self.environment, f"{self.subscription_id}-delivery")

    @property
    def target_id(self) -> str:
        return fit(f"{self.subscription_id}-target", EVENT_RULE)


@dataclass(frozen=True)
class BrokerNames:
    """Names of the core resources of one environment (``dev``, ``prod`` ...).

    Names that must be globally unique (S3 buckets) carry the account and region, which come from
    configuration.
    """

    environment: str
    region: str
    account_id: str

    def __post_init__(self) -> None:
        if re.fullmatch(ENVIRONMENT_PATTERN, self.environment) is None:
            raise ValueError(f"environment {self.environment!r} must match {ENVIRONMENT_PATTERN}")
        if re.fullmatch(r"[0-9]{12}", self.account_id) is None:
            raise ValueError(f"account_id {self.account_id!r} must be 12 digits")
        if re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", self.region) is None:
            raise ValueError(f"region {self.region!r} is not an AWS region name")

    def _bucket(self, purpose: str) -> str:
        return fit(f"{self.environment}-eb-{purpose}-{self.account_id}-{self.region}", S3_BUCKET)

    @property
    def prefix(self) -> str:
        return f"{self.environment}-event-broker"

    @property
    def event_bus(self) -> str:
        return EVENT_BUS.check(f"{self.environment}.custom.events.bus")

    @property
    def event_archive(self) -> str:
        return fit(f"{self.environment}-event-broker-archive", EVENT_ARCHIVE)

    @property
    def schema_registry(self) -> str:
        return fit(f"{self.environment}-event-broker", SCHEMA_REGISTRY)

    @property
    def catalog_table(self) -> str:
        return fit(f"{self.prefix}-catalog", DYNAMODB_TABLE)

    @property
    def state_bucket(self) -> str:
        return self._bucket("tfstate")

    @property
    def schema_bucket(self) -> str:
        return self._bucket("schemas")

    @property
    def producer_bucket(self) -> str:
        return self._bucket("producers")

    @property
    def consumer_bucket(self) -> str:
        return self._bucket("consumers")

    @property
    def artifact_bucket(self) -> str:
        return self._bucket("artifacts")

    @property
    def access_log_bucket(self) -> str:
        return self._bucket("access-logs")

    @property
    def producer_api(self) -> str:
        return fit(f"{self.prefix}-producers", API_GATEWAY_NAME)

    @property
    def producer_api_stage(self) -> str:
        return self.environment

    @property
    def producer_api_log_group(self) -> str:
        return fit(f"/aws/apigateway/{self.prefix}-producers", LOG_GROUP)

    @property
    def apigateway_events_role(self) -> str:
        return fit(f"{self.prefix}-apigw-put-events", IAM_ROLE)

    @property
    def generator_function(self) -> str:
        return fit(f"{self.prefix}-generator", LAMBDA_FUNCTION)

    @property
    def generator_repository(self) -> str:
        return fit(f"{self.prefix}-generator", ECR_REPOSITORY)

    @property
    def generator_queue(self) -> str:
        return fit(f"{self.prefix}-deployments", SQS_QUEUE)

    @property
    def generator_dead_letter_queue(self) -> str:
        return fit(f"{self.prefix}-deployments-dlq", SQS_QUEUE)

    @property
    def generator_role(self) -> str:
        return fit(f"{self.prefix}-generator", IAM_ROLE)

    @property
    def portal_role(self) -> str:
        return fit(f"{self.prefix}-portal", IAM_ROLE)

    @property
    def portal_user_pool(self) -> str:
        return f"{self.prefix}-portal-users"

    @property
    def portal_user_pool_client(self) -> str:
        return f"{self.prefix}-portal"

    @property
    def kms_key_alias(self) -> str:
        return f"alias/{self.prefix}"

    @property
    def apigateway_cloudwatch_role(self) -> str:
        return fit(f"{self.prefix}-apigw-cloudwatch", IAM_ROLE)

    @property
    def generator_log_group(self) -> str:
        return fit(f"/aws/lambda/{self.generator_function}", LOG_GROUP)

    # issue 9: the permissions boundary every component role is created with
    @property
    def component_boundary_policy(self) -> str:
        return fit(f"{self.prefix}-component-boundary", IAM_POLICY)

    @property
    def component_role_prefix(self) -> str:
        return component_role_prefix(self.environment)

    @property
    def subscription_rule_prefix(self) -> str:
        """What every consumer rule's name starts with (``ConsumerNames.rule``: ``<env>-sub-...``)."""
        return f"{self.environment}-sub-"

    def producer(self, event_type: str, version: int) -> ProducerNames:
        return ProducerNames(self.environment, event_type, version)

    def consumer(self, subscription_id: str) -> ConsumerNames:
        return ConsumerNames(self.environment, subscription_id)


# --- component roles (issue 9): one prefix, so the generator may create these roles and no other ---------

IAM_POLICY = NameRule(128, r"[\w+=,.@-]+")


def component_role_prefix(environment: str) -> str:
    """Every IAM role a component stack creates starts with this (``<env>-eb-``); core roles do not."""
    return f"{environment}-eb-"


def component_role(environment: str, purpose: str) -> str:
    """The name of a component role: the component role prefix, then ``purpose`` (hash-shortened if long)."""
    return fit(f"{component_role_prefix(environment)}{purpose}", IAM_ROLE)


def deployment_file_key(component_id: str, sequence: int, deployment_id: str) -> str:
    """S3 key of a deployment file; the zero-padded sequence keeps a component's files in order."""
    return f"{component_id}/{sequence:010d}-{deployment_id}.json"


def schema_backup_key(event_type: str, version: int) -> str:
    """S3 key of the JSON backup of one schema version (the registry is rebuilt from these)."""
    return f"schemas/{event_type}/v{version}.json"


def artifact_key(component_id: str, deployment_id: str) -> str:
    """S3 key of the synthesized Terraform JSON of one deployment."""
    return f"{component_id}/{deployment_id}/cdk.tf.json"
