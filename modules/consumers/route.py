"""The part every consumer shares: a rule on the bus, one target with retries, and the target's DLQ."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import (
    CloudwatchEventTarget,
    CloudwatchEventTargetDeadLetterConfig,
    CloudwatchEventTargetRetryPolicy,
    CloudwatchEventTargetSqsTarget,
)
from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from modules.consumers.pattern import event_pattern_json, policy_sid, queue_policy
from modules.shared.terraform import terraform_literal

DEAD_LETTER_RETENTION_SECONDS = 1_209_600  # 14 days, the SQS maximum: time to look at what failed
#: the generator enables a rule created disabled; Terraform must not turn it off again on the next apply
RULE_STATE_SET_BY_GENERATOR = ["state", "is_enabled"]


@dataclass(frozen=True)
class RouteSettings:
    """What every consumer kind decides the same way: the rule, retries and the dead-letter queue."""

    rule_name: str
    event_bus_name: str
    event_pattern: dict[str, Any] = field(hash=False)
    target_id: str
    dead_letter_queue_name: str
    max_retry_attempts: int
    max_event_age_seconds: int
    description: str = ""


@dataclass(frozen=True)
class ConsumerRouteConfig:
    """The rule, its single target and the target's dead-letter queue.

    ``role_arn`` is needed only by targets EventBridge reaches through a role (API destinations,
    functions and queues of other accounts). ``sqs_message_group_id`` is required when the target is
    a FIFO queue. ``start_disabled`` creates the rule ``DISABLED`` for the generator to enable once
    the target can really receive (an HTTPS connection holding its real credential); Terraform then
    ignores the rule's state, so a later apply never disables it again.
    """

    settings: RouteSettings
    target_arn: str
    role_arn: str | None = None
    sqs_message_group_id: str | None = None
    start_disabled: bool = False


class ConsumerRoute(Construct):
    """Rule -> target, retried per the subscription, failures kept in an encrypted DLQ."""

    rule: CloudwatchEventRule
    dead_letter_queue: SqsQueue
    dead_letter_queue_policy: SqsQueuePolicy
    target: CloudwatchEventTarget

    def __init__(self, scope: Construct, construct_id: str, config: ConsumerRouteConfig) -> None:
        super().__init__(scope, construct_id)
        settings = config.settings
        self.rule = CloudwatchEventRule(
            self,
            "rule",
            name=settings.rule_name,
            description=settings.description,
            event_bus_name=settings.event_bus_name,
            # a content filter is user text: Terraform must not read it as a template
            event_pattern=terraform_literal(event_pattern_json(settings.event_pattern)),
            state="DISABLED" if config.start_disabled else "ENABLED",
            lifecycle=TerraformResourceLifecycle(ignore_changes=RULE_STATE_SET_BY_GENERATOR)
            if config.start_disabled
            else None,
        )
        # SSE-SQS, not the AWS managed KMS key: EventBridge cannot use aws/sqs to send to a DLQ
        self.dead_letter_queue = SqsQueue(
            self,
            "dlq",
            name=settings.dead_letter_queue_name,
            message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
        )
        self.dead_letter_queue_policy = SqsQueuePolicy(
            self,
            "dlq-policy",
            queue_url=self.dead_letter_queue.url,
            policy=json.dumps(
                queue_policy(self.dead_letter_queue.arn, self.rule.arn, policy_sid(f"{settings.rule_name}-dlq"))
            ),
        )
        self.target = CloudwatchEventTarget(
            self,
            "target",
            rule=self.rule.name,
            event_bus_name=settings.event_bus_name,
            target_id=settings.target_id,
            arn=config.target_arn,
            role_arn=config.role_arn,
            retry_policy=CloudwatchEventTargetRetryPolicy(
                maximum_retry_attempts=settings.max_retry_attempts,
                maximum_event_age_in_seconds=settings.max_event_age_seconds,
            ),
            dead_letter_config=CloudwatchEventTargetDeadLetterConfig(arn=self.dead_letter_queue.arn),
            sqs_target=(
                CloudwatchEventTargetSqsTarget(message_group_id=config.sqs_message_group_id)
                if config.sqs_message_group_id
                else None
            ),
        )
