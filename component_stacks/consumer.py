"""Consumer stack: one subscription's rule on the bus and its delivery to a Lambda, queue or HTTPS endpoint.

Also its hooks (``consumer_hooks``): the connection's secret, the shared queue policy, the queue's
encryption, and the instructions for targets the broker may not change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cdktf import TerraformOutput, TerraformStack
from constructs import Construct

from broker_contract.arns import arn_account, arn_region
from broker_contract.config import RuntimeConfig
from broker_contract.models import (
    Consumer,
    ConsumerDeployment,
    DeploymentAction,
    HttpsConsumer,
    LambdaConsumer,
    SqsConsumer,
)
from component_stacks.base import (
    StackOptions,
    broker_names,
    component_boundary_arn,
    configure_component_stack,
    role_arn_of,
)
from component_stacks.hooks import ComponentHooks, SharedQueueStatement
from modules.consumers.delivery import DeliveryRoleConfig
from modules.consumers.https import HttpsAuthSettings, HttpsConsumerConfig, HttpsConsumerTarget
from modules.consumers.lambda_function import LambdaConsumerConfig, LambdaConsumerTarget
from modules.consumers.pattern import (
    EVENTS_PRINCIPAL,
    broker_deliveries_statement,
    consumer_event_pattern,
    policy_sid,
    role_send_message_statement,
    rule_arn,
    send_message_statement,
)
from modules.consumers.route import ConsumerRoute, ConsumerRouteConfig, RouteSettings
from modules.consumers.sqs import SqsConsumerConfig, SqsConsumerTarget


@dataclass(frozen=True)
class ConsumerStackConfig:
    """The deployment file, the broker's run-time configuration, and build options."""

    deployment: ConsumerDeployment
    runtime: RuntimeConfig
    options: StackOptions = field(default_factory=StackOptions)


def in_broker_account(arn: str, runtime: RuntimeConfig) -> bool:
    """True when the resource of ``arn`` is in the broker's account and region."""
    return arn_account(arn) == runtime.account_id and arn_region(arn) == runtime.region


def manages_queue_policy(consumer: SqsConsumer, runtime: RuntimeConfig) -> bool:
    """True when the generator adds the subscription's statement to the queue's policy: asked for, and ours to reach."""
    return consumer.manage_queue_policy and in_broker_account(consumer.connection_string, runtime)


def manages_lambda_permission(consumer: LambdaConsumer, runtime: RuntimeConfig) -> bool:
    """True when the consumer stack can add the invoke permission: the function is in our account."""
    return arn_account(consumer.connection_string) == runtime.account_id


def delivers_across_accounts(consumer: Consumer, runtime: RuntimeConfig) -> bool:
    """True for a function or queue of another account: EventBridge reaches it through a delivery role."""
    if isinstance(consumer, HttpsConsumer):
        return False
    return arn_account(consumer.connection_string) != runtime.account_id


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


#: what EventBridge cannot use, and what a customer managed key must allow it
KMS_NOTE_SAME_ACCOUNT = (
    f"The queue must not be encrypted with the AWS managed key alias/aws/sqs (EventBridge cannot use it); with a "
    f"customer managed KMS key, the key policy must allow {EVENTS_PRINCIPAL} kms:GenerateDataKey and kms:Decrypt."
)


def _kms_note_cross_account(role_arn: str) -> str:
    return (
        "The broker cannot see how a queue of another account is encrypted. A queue on the AWS managed key "
        "alias/aws/sqs cannot receive from another account: use SSE-SQS or a customer managed KMS key, whose key "
        f"policy must allow {role_arn} kms:GenerateDataKey and kms:Decrypt."
    )


def _queue_policy_instructions(deployment: ConsumerDeployment, consumer: SqsConsumer, runtime: RuntimeConfig) -> str:
    names = broker_names(runtime).consumer(deployment.subscription_id)
    queue_arn = consumer.connection_string
    if delivers_across_accounts(consumer, runtime):
        role_arn = role_arn_of(runtime, names.delivery_role)
        statement = role_send_message_statement(queue_arn, role_arn, policy_sid(names.rule))
        kms = _kms_note_cross_account(role_arn)
        sender = f"the event broker's delivery role {role_arn}"
    else:
        statement = send_message_statement(
            queue_arn, rule_arn(runtime.event_bus_arn, names.rule), policy_sid(names.rule)
        )
        kms = KMS_NOTE_SAME_ACCOUNT
        sender = "the event broker"
    return (
        f"Add this statement to the access policy of queue {queue_arn} so {sender} can "
        f"deliver {deployment.event.detail_type} events of subscription {deployment.subscription_id}. "
        f"{kms}\n{json.dumps(statement, indent=2, sort_keys=True)}"
    )


def _lambda_permission_instructions(
    deployment: ConsumerDeployment, consumer: LambdaConsumer, runtime: RuntimeConfig
) -> str:
    names = broker_names(runtime).consumer(deployment.subscription_id)
    role_arn = role_arn_of(runtime, names.delivery_role)
    return (
        f"Allow the event broker's delivery role {role_arn} to invoke function {consumer.connection_string} for "
        f"subscription {deployment.subscription_id}:\n"
        f"aws lambda add-permission --function-name {consumer.connection_string} --statement-id {names.rule} "
        f"--action lambda:InvokeFunction --principal {role_arn}"
    )


def consumer_hooks(deployment: ConsumerDeployment, runtime: RuntimeConfig) -> ComponentHooks:
    """The generator's steps around the consumer stack of ``deployment`` (pure: no AWS call)."""
    deploying = deployment.action is DeploymentAction.DEPLOY
    consumer = deployment.consumer
    names = broker_names(runtime).consumer(deployment.subscription_id)
    if isinstance(consumer, SqsConsumer) and manages_queue_policy(consumer, runtime):
        # on destroy too: the generator removes the broker's statement once no subscription uses the queue
        broker = broker_names(runtime)
        statement = broker_deliveries_statement(
            consumer.connection_string,
            runtime.event_bus_arn,
            broker.subscription_rule_prefix,
            policy_sid(f"{broker.prefix}-deliveries"),
        )
        return ComponentHooks(
            shared_queue_policy=SharedQueueStatement(
                consumer.connection_string, statement, broker.subscription_rule_prefix
            ),
            check_queue_encryption=consumer.connection_string if deploying else None,
        )
    if not deploying:
        return ComponentHooks()
    if isinstance(consumer, HttpsConsumer) and consumer.auth is not None:
        return ComponentHooks(connection_name=names.connection, auth=consumer.auth, rule_to_enable=names.rule)
    if isinstance(consumer, SqsConsumer):
        return ComponentHooks(
            check_queue_encryption=(
                consumer.connection_string if in_broker_account(consumer.connection_string, runtime) else None
            ),
            instructions=_queue_policy_instructions(deployment, consumer, runtime),
        )
    if isinstance(consumer, LambdaConsumer) and not manages_lambda_permission(consumer, runtime):
        return ComponentHooks(instructions=_lambda_permission_instructions(deployment, consumer, runtime))
    return ComponentHooks()
