"""LAMBDA consumer: the rule invokes the subscriber's function."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from modules.consumers.pattern import EVENTS_PRINCIPAL
from modules.consumers.route import ConsumerRoute, ConsumerRouteConfig


@dataclass(frozen=True)
class LambdaConsumerConfig:
    """The route to the function, and whether this stack may add the invoke permission.

    ``manage_permission`` is false when the function lives in another account: the broker cannot
    change its policy, its owner adds the permission (see ``components.post_apply_hints``).
    """

    route: ConsumerRouteConfig
    statement_id: str
    manage_permission: bool = True


class LambdaConsumerTarget(Construct):
    """Rule -> function, with the function's permission limited to this rule."""

    route: ConsumerRoute
    permission: LambdaPermission | None

    def __init__(self, scope: Construct, construct_id: str, config: LambdaConsumerConfig) -> None:
        super().__init__(scope, construct_id)
        self.route = ConsumerRoute(self, "route", config.route)
        self.permission = None
        if config.manage_permission:
            self.permission = LambdaPermission(
                self,
                "permission",
                statement_id=config.statement_id,
                action="lambda:InvokeFunction",
                function_name=config.route.target_arn,
                principal=EVENTS_PRINCIPAL,
                source_arn=self.route.rule.arn,
            )
