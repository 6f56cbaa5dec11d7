"""Entry point of the generator into producer and consumer stacks, and what it must do around them.

``build_component_stack`` is a pure function of the deployment file and the run-time configuration:
the same inputs give the same stack, for ``deploy`` (terraform apply) and ``destroy`` (terraform
destroy) alike. ``post_apply_hints`` tells the generator, without any AWS call, the steps that
cannot live in the stack: redeploying the shared API stage, creating the shared ``/<event_type>``
resource, copying a secret into a connection, and instructions for resources the broker does not own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf import App, S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags

from broker_contract.arns import arn_account, arn_region, delivery_problems
from broker_contract.config import RuntimeConfig
from broker_contract.models import (
    ApiKeyAuth,
    BasicAuth,
    ConsumerDeployment,
    DeploymentAction,
    HttpsConsumer,
    HttpsProducer,
    LambdaConsumer,
    OAuthClientCredentials,
    ProducerDeployment,
    SqsConsumer,
)
from broker_contract.names import BrokerNames
from cdktf_stacks.backend import StateLocation, use_remote_state
from cdktf_stacks.embedded import EmbeddedAws, point_backend_at, provider_endpoint_options
from modules.consumers.pattern import EVENTS_PRINCIPAL, policy_sid, rule_arn, send_message_statement

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
      connection's auth parameters with it (the stack holds placeholders only).
    - ``queue_policy_instructions`` / ``lambda_permission_instructions``: what the owner of a queue or
      function the broker may not change must add; ``instructions`` joins them for the catalog record.
    """

    component_id: str
    redeploy_api_stage: bool = False
    parent_resource_path: str | None = None
    connection_name: str | None = None
    auth: ApiKeyAuth | BasicAuth | OAuthClientCredentials | None = None
    queue_policy_instructions: str | None = None
    lambda_permission_instructions: str | None = None

    @property
    def instructions(self) -> str | None:
        parts = [text for text in (self.queue_policy_instructions, self.lambda_permission_instructions) if text]
        return "\n\n".join(parts) if parts else None


def manages_queue_policy(consumer: SqsConsumer, runtime: RuntimeConfig) -> bool:
    """True when the consumer stack sets the queue's policy: asked for, and the queue is in our account and region."""
    arn = consumer.connection_string
    return consumer.manage_queue_policy and arn_account(arn) == runtime.account_id and arn_region(arn) == runtime.region


def manages_lambda_permission(consumer: LambdaConsumer, runtime: RuntimeConfig) -> bool:
    """True when the consumer stack can add the invoke permission: the function is in our account."""
    return arn_account(consumer.connection_string) == runtime.account_id


def _queue_policy_instructions(deployment: ConsumerDeployment, consumer: SqsConsumer, runtime: RuntimeConfig) -> str:
    names = broker_names(runtime).consumer(deployment.subscription_id)
    statement = send_message_statement(
        consumer.connection_string,
        rule_arn(runtime.event_bus_arn, names.rule),
        policy_sid(names.rule),
    )
    return (
        f"Add this statement to the access policy of queue {consumer.connection_string} so the event broker can "
        f"deliver {deployment.event.detail_type} events of subscription {deployment.subscription_id}. If the queue "
        f"is encrypted with a customer managed KMS key, also allow {EVENTS_PRINCIPAL} kms:GenerateDataKey and "
        f"kms:Decrypt on that key.\n{json.dumps(statement, indent=2, sort_keys=True)}"
    )


def _lambda_permission_instructions(
    deployment: ConsumerDeployment, consumer: LambdaConsumer, runtime: RuntimeConfig
) -> str:
    names = broker_names(runtime).consumer(deployment.subscription_id)
    return (
        f"Allow the event broker to invoke function {consumer.connection_string} for subscription "
        f"{deployment.subscription_id}:\n"
        f"aws lambda add-permission --function-name {consumer.connection_string} --statement-id {names.rule} "
        f"--action lambda:InvokeFunction --principal {EVENTS_PRINCIPAL} "
        f"--source-arn {rule_arn(runtime.event_bus_arn, names.rule)}"
    )


def post_apply_hints(deployment: ProducerDeployment | ConsumerDeployment, runtime: RuntimeConfig) -> ComponentHints:
    """The generator's steps around the stack of ``deployment`` (pure: no AWS call)."""
    deploying = deployment.action is DeploymentAction.DEPLOY
    if isinstance(deployment, ProducerDeployment):
        if isinstance(deployment.producer, HttpsProducer):
            return ComponentHints(
                component_id=deployment.component_id,
                redeploy_api_stage=True,
                parent_resource_path=f"/{deployment.event.event_type}",
            )
        return ComponentHints(component_id=deployment.component_id)
    consumer = deployment.consumer
    hints = ComponentHints(component_id=deployment.component_id)
    if not deploying:
        return hints
    if isinstance(consumer, HttpsConsumer) and consumer.auth is not None:
        names = broker_names(runtime).consumer(deployment.subscription_id)
        return ComponentHints(
            component_id=deployment.component_id, connection_name=names.connection, auth=consumer.auth
        )
    if isinstance(consumer, SqsConsumer) and not manages_queue_policy(consumer, runtime):
        return ComponentHints(
            component_id=deployment.component_id,
            queue_policy_instructions=_queue_policy_instructions(deployment, consumer, runtime),
        )
    if isinstance(consumer, LambdaConsumer) and not manages_lambda_permission(consumer, runtime):
        return ComponentHints(
            component_id=deployment.component_id,
            lambda_permission_instructions=_lambda_permission_instructions(deployment, consumer, runtime),
        )
    return hints
