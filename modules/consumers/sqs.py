"""SQS consumer: the rule sends to the subscriber's queue."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_sqs_queue import DataAwsSqsQueue
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from modules.consumers.pattern import policy_sid, queue_policy
from modules.consumers.route import ConsumerRoute, ConsumerRouteConfig


@dataclass(frozen=True)
class SqsConsumerConfig:
    """The route to the queue, and whether this stack owns the queue's policy.

    ``aws_sqs_queue_policy`` replaces the queue's whole policy, so ``manage_queue_policy`` is only
    for queues dedicated to broker deliveries in the broker's account and region; otherwise the
    queue owner adds the statement (see ``components.post_apply_hints``).
    """

    route: ConsumerRouteConfig
    queue_name: str
    manage_queue_policy: bool = True


class SqsConsumerTarget(Construct):
    """Rule -> queue, with (optionally) the queue policy letting only this rule send."""

    route: ConsumerRoute
    queue: DataAwsSqsQueue | None
    queue_policy: SqsQueuePolicy | None

    def __init__(self, scope: Construct, construct_id: str, config: SqsConsumerConfig) -> None:
        super().__init__(scope, construct_id)
        self.route = ConsumerRoute(self, "route", config.route)
        self.queue = self.queue_policy = None
        if config.manage_queue_policy:
            # looked up by name: its URL depends on the endpoint (real AWS or local mode)
            self.queue = DataAwsSqsQueue(self, "queue", name=config.queue_name)
            self.queue_policy = SqsQueuePolicy(
                self,
                "queue-policy",
                queue_url=self.queue.url,
                policy=json.dumps(
                    queue_policy(
                        config.route.target_arn, self.route.rule.arn, policy_sid(config.route.settings.rule_name)
                    )
                ),
            )
