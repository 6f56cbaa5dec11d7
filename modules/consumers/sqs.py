"""SQS consumer: the rule sends to the subscriber's queue.

The queue's access policy is not part of the stack: ``aws_sqs_queue_policy`` replaces a queue's whole
policy, so two subscriptions on one queue would overwrite each other and destroying one would remove
the permission of all. The generator adds (and on destroy removes) one statement per subscription,
keyed by its Sid, with a locked read-modify-write (``generator.aws_actions``); see docs/components.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from modules.consumers.delivery import DeliveryRoleConfig, delivery_role
from modules.consumers.route import ConsumerRoute, ConsumerRouteConfig


@dataclass(frozen=True)
class SqsConsumerConfig:
    """The route to the queue; ``delivery_role`` when the queue is in another account."""

    route: ConsumerRouteConfig
    delivery_role: DeliveryRoleConfig | None = None


class SqsConsumerTarget(Construct):
    """Rule -> queue, through an execution role of the bus account when the queue is another account's."""

    route: ConsumerRoute
    role: IamRole | None
    role_policy: IamRolePolicy | None

    def __init__(self, scope: Construct, construct_id: str, config: SqsConsumerConfig) -> None:
        super().__init__(scope, construct_id)
        route = config.route
        self.role = self.role_policy = None
        if config.delivery_role is not None:
            self.role, self.role_policy = delivery_role(self, "delivery-role", config.delivery_role)
            route = replace(route, role_arn=self.role.arn)
        self.route = ConsumerRoute(self, "route", route)
