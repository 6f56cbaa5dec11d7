"""Entry point of the generator into producer and consumer stacks, and what it must do around them.

``build_component_stack`` is a pure function of the deployment file and the run-time configuration:
the same inputs give the same stack, for ``deploy`` (terraform apply) and ``destroy`` (terraform
destroy) alike. ``post_apply_hints`` tells the generator, without any AWS call, the steps that
cannot live in the stack: redeploying the shared API stage, creating the shared ``/<event_type>``
resource, copying a secret into a connection and then enabling its rule, adding or removing a
subscription's statement in a shared queue's policy, checking a target queue's encryption, and
instructions for resources the broker does not own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from cdktf import App, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags

from broker_contract.arns import arn_account, arn_partition, arn_region, delivery_problems
from broker_contract.config import RuntimeConfig
from broker_contract.models import (
    Consumer,
    ConsumerDeployment,
    DeploymentAction,
    HttpsAuth,
    HttpsConsumer,
    HttpsProducer,
    LambdaConsumer,
    ProducerDeployment,
    SqsConsumer,
    SqsProducer,
)
from broker_contract.names import BrokerNames
from cdktf_stacks.backend import StateLocation, use_remote_state
from cdktf_stacks.embedded import EmbeddedAws, point_backend_at, provider_endpoint_options
from modules.consumers.pattern import (
    EVENTS_PRINCIPAL,
    broker_deliveries_statement,
    policy_sid,
    role_send_message_statement,
    rule_arn,
    send_message_statement,
)

MANAGED_BY = "event-broker"


@dataclass(frozen=True)
class StackOptions:
    """How to build a component stack beyond its deployment file.

    ``endpoint_url`` (local mode) points the AWS provider and the S3 backend at moto_server.
    """

    endpoint_url: str | None = None


def broker_names(runtime: RuntimeConfig) -> BrokerNames:
    """The names of the environment ``runtime`` describes."""
    return BrokerNames(runtime.environment, runtime.region, runtime.account_id)


def default_tags(environment: str, component_id: str) -> dict[str, str]:
    """Tags on every resource of a component; no deployment id, so identical deployments give no diff."""
    return {"environment": environment, "component": component_id, "managed-by": MANAGED_BY}


def configure_component_stack(
    stack: TerraformStack, runtime: RuntimeConfig, component_id: str, state_key: str, options: StackOptions
) -> tuple[AwsProvider, S3Backend]:
    """Give ``stack`` its AWS provider and its S3 state, both pointed at ``options.endpoint_url`` if set."""
    embedded = EmbeddedAws(options.endpoint_url) if options.endpoint_url else None
    provider = AwsProvider(
        stack,
        "aws",
        region=runtime.region,
        default_tags=[AwsProviderDefaultTags(tags=default_tags(runtime.environment, component_id))],
        **provider_endpoint_options(embedded, check_account=False),
    )
    backend = use_remote_state(
        stack, StateLocation(bucket=runtime.state_bucket_name, key=state_key, region=runtime.region)
    )
    point_backend_at(backend, embedded)
    return provider, backend


class UndeliverableSubscription(ValueError):
    """The subscription's target is one the broker's rule can never deliver to; ``problems`` say why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def consumer_problems(deployment: ConsumerDeployment, runtime: RuntimeConfig) -> list[str]:
    """Why EventBridge could not deliver this subscription from the broker's bus; empty when it can."""
    return delivery_problems(deployment, runtime.region)


def build_component_stack(
    app: App,
    deployment: ProducerDeployment | ConsumerDeployment,
    runtime: RuntimeConfig,
    options: StackOptions = StackOptions(),
) -> TerraformStack:
    """The producer or consumer stack of ``deployment``, added to ``app``; ``terraform destroy`` uses the same.

    Raises ``UndeliverableSubscription`` (a ``ValueError``), before adding anything to ``app``, for a
    consumer whose target EventBridge cannot reach (``consumer_problems``).
    """
    # imported here: the stack modules import this one for the shared provider/backend setup
    if isinstance(deployment, ProducerDeployment):
        from cdktf_stacks.producer import ProducerStack, ProducerStackConfig  # noqa: PLC0415

        names = broker_names(runtime).producer(deployment.event.event_type, deployment.event.version)
        return ProducerStack(app, names.stack, ProducerStackConfig(deployment, runtime, options))
    problems = consumer_problems(deployment, runtime)
    if problems:
        raise UndeliverableSubscription(problems)
    from cdktf_stacks.consumer import ConsumerStack, ConsumerStackConfig  # noqa: PLC0415

    consumer_names = broker_names(runtime).consumer(deployment.subscription_id)
    return ConsumerStack(app, consumer_names.stack, ConsumerStackConfig(deployment, runtime, options))


@dataclass(frozen=True)
class ComponentHints:
    """What the generator does around ``terraform apply``/``destroy`` of one component.

    - ``parent_resource_path``: ensure this API resource exists before apply and destroy (the stack
      looks it up; it is shared by every version of the event type).
    - ``redeploy_api_stage``: after apply or destroy, create a new deployment of the shared stage so
      the change reaches producers.
    - ``connection_name`` + ``auth``: after apply, read the secret ``auth.secret_arn`` and update the
      connection's auth parameters with it (the stack holds placeholders only); then enable
      ``rule_to_enable`` (the stack creates it disabled, so nothing is sent with the placeholders).
    - ``queue_policy_statement`` (with ``queue_arn``): the broker's one statement in the policy of a
      queue of the broker's account, letting every subscription rule (``delivery_rule_prefix``) send.
      The generator adds it after apply if missing, and after destroy removes it (by its ``Sid``) only
      when no rule of the broker targets the queue any more; other statements are never touched.
    - ``check_queue_encryption``: before apply, the generator checks how this queue (broker's account)
      is encrypted: the AWS managed key fails the deployment, a CMK must grant EventBridge.
    - ``queue_policy_instructions`` / ``lambda_permission_instructions`` / ``producer_instructions``:
      what the owner of a queue or function the broker may not change must add, and how a producer
      publishes; ``instructions`` joins them for the catalog record.
    """

    component_id: str
    redeploy_api_stage: bool = False
    parent_resource_path: str | None = None
    connection_name: str | None = None
    auth: HttpsAuth | None = None
    rule_to_enable: str | None = None
    queue_arn: str | None = None
    queue_policy_statement: dict[str, Any] | None = field(default=None, hash=False)
    delivery_rule_prefix: str | None = None
    check_queue_encryption: str | None = None
    queue_policy_instructions: str | None = None
    lambda_permission_instructions: str | None = None
    producer_instructions: str | None = None

    @property
    def instructions(self) -> str | None:
        parts = [
            text
            for text in (
                self.queue_policy_instructions,
                self.lambda_permission_instructions,
                self.producer_instructions,
            )
            if text
        ]
        return "\n\n".join(parts) if parts else None


def component_boundary_arn(runtime: RuntimeConfig) -> str:
    """ARN of the permissions boundary (a managed policy of the broker stack) every component role carries."""
    policy = broker_names(runtime).component_boundary_policy
    return f"arn:{arn_partition(runtime.event_bus_arn)}:iam::{runtime.account_id}:policy/{policy}"


def role_arn_of(runtime: RuntimeConfig, role_name: str) -> str:
    """ARN of a role of the broker's account (component roles have no path)."""
    return f"arn:{arn_partition(runtime.event_bus_arn)}:iam::{runtime.account_id}:role/{role_name}"


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


def producer_accounts(deployment: ProducerDeployment, runtime: RuntimeConfig) -> list[str]:
    """Accounts whose principals may publish this event version: the broker's, then the file's, without repeats."""
    return list(dict.fromkeys([runtime.account_id, *deployment.producer.allowed_accounts]))


def _producer_instructions(deployment: ProducerDeployment, runtime: RuntimeConfig) -> str:
    names = broker_names(runtime).producer(deployment.event.event_type, deployment.event.version)
    accounts = ", ".join(producer_accounts(deployment, runtime))
    if isinstance(deployment.producer, SqsProducer):
        return (
            f"Send {names.detail_type} envelopes as message bodies to queue {names.queue} (output queue_url) "
            f"from account(s) {accounts}; the senders also need sqs:SendMessage on it in their own IAM policy."
        )
    url = f"{runtime.producer_api_url.rstrip('/')}{names.endpoint_path}"
    key = (
        " and send this producer's API key (output api_key_id; the portal hands out its value) in x-api-key"
        if deployment.producer.auth == "API_KEY"
        else ""
    )
    return (
        f"Publish {names.detail_type} with role {role_arn_of(runtime, names.publisher_role)} (output "
        f"publisher_role_arn): assume it from account(s) {accounts}, then sign POST {url} with SigV4 (service "
        f"execute-api, region {runtime.region}){key}. The role may call this endpoint and no other."
    )


def post_apply_hints(deployment: ProducerDeployment | ConsumerDeployment, runtime: RuntimeConfig) -> ComponentHints:
    """The generator's steps around the stack of ``deployment`` (pure: no AWS call)."""
    deploying = deployment.action is DeploymentAction.DEPLOY
    component_id = deployment.component_id
    if isinstance(deployment, ProducerDeployment):
        instructions = _producer_instructions(deployment, runtime) if deploying else None
        if isinstance(deployment.producer, HttpsProducer):
            return ComponentHints(
                component_id=component_id,
                redeploy_api_stage=True,
                parent_resource_path=f"/{deployment.event.event_type}",
                producer_instructions=instructions,
            )
        return ComponentHints(component_id=component_id, producer_instructions=instructions)
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
        return ComponentHints(
            component_id=component_id,
            queue_arn=consumer.connection_string,
            queue_policy_statement=statement,
            delivery_rule_prefix=broker.subscription_rule_prefix,
            check_queue_encryption=consumer.connection_string if deploying else None,
        )
    if not deploying:
        return ComponentHints(component_id=component_id)
    if isinstance(consumer, HttpsConsumer) and consumer.auth is not None:
        return ComponentHints(
            component_id=component_id, connection_name=names.connection, auth=consumer.auth, rule_to_enable=names.rule
        )
    if isinstance(consumer, SqsConsumer):
        return ComponentHints(
            component_id=component_id,
            check_queue_encryption=(
                consumer.connection_string if in_broker_account(consumer.connection_string, runtime) else None
            ),
            queue_policy_instructions=_queue_policy_instructions(deployment, consumer, runtime),
        )
    if isinstance(consumer, LambdaConsumer) and not manages_lambda_permission(consumer, runtime):
        return ComponentHints(
            component_id=component_id,
            lambda_permission_instructions=_lambda_permission_instructions(deployment, consumer, runtime),
        )
    return ComponentHints(component_id=component_id)
