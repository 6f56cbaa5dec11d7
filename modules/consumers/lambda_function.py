"""LAMBDA consumer: the rule invokes the subscriber's function."""

from __future__ import annotations

from dataclasses import dataclass, replace

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from modules.consumers.delivery import DeliveryRoleConfig, delivery_role
from modules.consumers.pattern import EVENTS_PRINCIPAL
from modules.consumers.route import ConsumerRoute, ConsumerRouteConfig


@dataclass(frozen=True)
class LambdaConsumerConfig:
    """The route to the function, and how EventBridge is allowed to invoke it.

    Same account: the stack adds the function's invoke permission for this rule. Another account
    (``delivery_role`` set): EventBridge invokes through an execution role of the bus account, and the
    function's owner grants that role (see ``component_stacks.consumer.consumer_hooks``).
    """

    route: ConsumerRouteConfig
    statement_id: str
    delivery_role: DeliveryRoleConfig | None = None


class LambdaConsumerTarget(Construct):
    """Rule -> function, with the function's permission limited to this rule (or this rule's role)."""

    route: ConsumerRoute
    permission: LambdaPermission | None
    role: IamRole | None
    role_policy: IamRolePolicy | None

    def __init__(self, scope: Construct, construct_id: str, config: LambdaConsumerConfig) -> None:
        super().__init__(scope, construct_id)
        route = config.route
        self.permission = self.role = self.role_policy = None
        if config.delivery_role is not None:
            self.role, self.role_policy = delivery_role(self, "delivery-role", config.delivery_role)
            route = replace(route, role_arn=self.role.arn)
        self.route = ConsumerRoute(self, "route", route)
        if config.delivery_role is None:
            self.permission = LambdaPermission(
                self,
                "permission",
                statement_id=config.statement_id,
                action="lambda:InvokeFunction",
                function_name=config.route.target_arn,
                principal=EVENTS_PRINCIPAL,
                source_arn=self.route.rule.arn,
            )
