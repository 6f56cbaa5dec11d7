"""Consumer stack: one subscription's rule on the bus and its delivery to a Lambda, queue or HTTPS endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import TerraformOutput, TerraformStack
from constructs import Construct

from broker_contract.config import RuntimeConfig
from broker_contract.models import ConsumerDeployment, HttpsConsumer, LambdaConsumer, SqsConsumer
from cdktf_stacks.components import (
    StackOptions,
    broker_names,
    component_boundary_arn,
    configure_component_stack,
    delivers_across_accounts,
)
from modules.consumers.delivery import DeliveryRoleConfig
from modules.consumers.https import HttpsAuthSettings, HttpsConsumerConfig, HttpsConsumerTarget
from modules.consumers.lambda_function import LambdaConsumerConfig, LambdaConsumerTarget
from modules.consumers.pattern import consumer_event_pattern
from modules.consumers.route import ConsumerRoute, ConsumerRouteConfig, RouteSettings
from modules.consumers.sqs import SqsConsumerConfig, SqsConsumerTarget


@dataclass(frozen=True)
class ConsumerStackConfig:
    """The deployment file, the broker's run-time configuration, and build options."""

    deployment: ConsumerDeployment
    runtime: RuntimeConfig
    options: StackOptions = field(default_factory=StackOptions)


def https_auth_settings(consumer: HttpsConsumer) -> HttpsAuthSettings:
    """The non-secret auth settings of an HTTPS consumer (the secret ARN stays with the generator)."""
    auth = consumer.auth
    if auth is None:
        return HttpsAuthSettings()
    if auth.type == "API_KEY":
        return HttpsAuthSettings(kind="API_KEY", header_name=auth.header_name)
    if auth.type == "BASIC":
        return HttpsAuthSettings(kind="BASIC")
    return HttpsAuthSettings(kind="OAUTH_CLIENT_CREDENTIALS", token_url=str(auth.token_url), scopes=tuple(auth.scopes))


class ConsumerStack(TerraformStack):
    """The consumer of one subscription; its state lives under the names' ``state_key``."""

    target: LambdaConsumerTarget | SqsConsumerTarget | HttpsConsumerTarget
    route: ConsumerRoute

    def __init__(self, scope: Construct, stack_id: str, config: ConsumerStackConfig) -> None:
        super().__init__(scope, stack_id)
        deployment, runtime = config.deployment, config.runtime
        names = broker_names(runtime).consumer(deployment.subscription_id)
        configure_component_stack(self, runtime, names.component_id, names.state_key, config.options)
        settings = RouteSettings(
            rule_name=names.rule,
            event_bus_name=runtime.event_bus_name,
            event_pattern=consumer_event_pattern(deployment),
            target_id=names.target_id,
            dead_letter_queue_name=names.dead_letter_queue,
            max_retry_attempts=deployment.max_retry_attempts,
            max_event_age_seconds=deployment.max_event_age_seconds,
            description=(
                f"{deployment.event.detail_type} for {deployment.target_unit} "
                f"(subscription {deployment.subscription_id}, {deployment.requested_by})"
            ),
        )
        consumer = deployment.consumer
        boundary = component_boundary_arn(runtime)
        # a function or queue of another account is reached through a role of the bus account
        delivery_role = (
            DeliveryRoleConfig(
                name=names.delivery_role,
                target_arn=consumer.connection_string,
                rule_name=names.rule,
                account_id=runtime.account_id,
                permissions_boundary=boundary,
            )
            if not isinstance(consumer, HttpsConsumer) and delivers_across_accounts(consumer, runtime)
            else None
        )
        if isinstance(consumer, LambdaConsumer):
            self.target = LambdaConsumerTarget(
                self,
                "lambda-consumer",
                LambdaConsumerConfig(
                    route=ConsumerRouteConfig(settings=settings, target_arn=consumer.connection_string),
                    statement_id=names.rule,
                    delivery_role=delivery_role,
                ),
            )
        elif isinstance(consumer, SqsConsumer):
            queue_arn = consumer.connection_string
            self.target = SqsConsumerTarget(
                self,
                "sqs-consumer",
                SqsConsumerConfig(
                    route=ConsumerRouteConfig(
                        settings=settings,
                        target_arn=queue_arn,
                        # FIFO queues need a group; one per event version keeps its order
                        sqs_message_group_id=deployment.event.detail_type if queue_arn.endswith(".fifo") else None,
                    ),
                    delivery_role=delivery_role,
                ),
            )
        else:
            self.target = HttpsConsumerTarget(
                self,
                "https-consumer",
                HttpsConsumerConfig(
                    route=settings,
                    connection_name=names.connection,
                    api_destination_name=names.api_destination,
                    target_role_name=names.target_role,
                    endpoint_url=str(consumer.connection_string),
                    rate_limit_per_second=consumer.rate_limit_per_second,
                    account_id=runtime.account_id,
                    auth=https_auth_settings(consumer),
                    permissions_boundary=boundary,
                ),
            )
            TerraformOutput(self, "api_destination_arn", value=self.target.api_destination.arn)
            TerraformOutput(self, "connection_arn", value=self.target.connection.arn)
        self.route = self.target.route
        if isinstance(self.target, LambdaConsumerTarget | SqsConsumerTarget) and self.target.role is not None:
            # the role the target's owner must grant (the deployment's instructions name it too)
            TerraformOutput(self, "delivery_role_arn", value=self.target.role.arn)
        TerraformOutput(self, "rule_arn", value=self.route.rule.arn)
        TerraformOutput(self, "dead_letter_queue_url", value=self.route.dead_letter_queue.url)
