"""Producer stack: one event version's way onto the bus (HTTPS endpoint or SQS queue + pipe), and its hooks."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktf import TerraformOutput, TerraformStack
from constructs import Construct

from broker_contract.arns import arn_partition
from broker_contract.config import RuntimeConfig
from broker_contract.models import DeploymentAction, HttpsProducer, ProducerDeployment, SqsProducer
from component_stacks.base import (
    StackOptions,
    broker_names,
    component_boundary_arn,
    configure_component_stack,
    role_arn_of,
)
from component_stacks.hooks import ComponentHooks
from modules.producers.https import HttpsProducerConfig, HttpsProducerEndpoint, method_arn
from modules.producers.sqs import SqsProducerConfig, SqsProducerPipe


@dataclass(frozen=True)
class ProducerStackConfig:
    """The deployment file, the broker's run-time configuration, and build options."""

    deployment: ProducerDeployment
    runtime: RuntimeConfig
    options: StackOptions = field(default_factory=StackOptions)


def producer_accounts(deployment: ProducerDeployment, runtime: RuntimeConfig) -> list[str]:
    """Accounts whose principals may publish this event version: the broker's, then the file's, without repeats."""
    return list(dict.fromkeys([runtime.account_id, *deployment.producer.allowed_accounts]))


class ProducerStack(TerraformStack):
    """The producer of one event version; its state lives under the names' ``state_key``."""

    https: HttpsProducerEndpoint | None
    sqs: SqsProducerPipe | None

    def __init__(self, scope: Construct, stack_id: str, config: ProducerStackConfig) -> None:
        super().__init__(scope, stack_id)
        deployment, runtime = config.deployment, config.runtime
        event = deployment.event
        names = broker_names(runtime).producer(event.event_type, event.version)
        configure_component_stack(self, runtime, names.component_id, names.state_key, config.options)
        self.https = self.sqs = None
        producer = deployment.producer
        partition = arn_partition(runtime.event_bus_arn)
        boundary = component_boundary_arn(runtime)
        accounts = tuple(producer_accounts(deployment, runtime))
        if isinstance(producer, HttpsProducer):
            self.https = HttpsProducerEndpoint(
                self,
                "https-producer",
                HttpsProducerConfig(
                    rest_api_id=runtime.producer_api_id,
                    stage_name=runtime.producer_api_stage_name,
                    parent_path=f"/{event.event_type}",
                    path_part=str(event.version),
                    model_name=names.request_model,
                    validator_name=names.request_validator,
                    envelope_schema=deployment.envelope_schema,
                    event_bus_name=runtime.event_bus_name,
                    source=event.application,
                    detail_type=names.detail_type,
                    credentials_role_arn=runtime.apigateway_events_role_arn,
                    region=runtime.region,
                    usage_plan_name=names.usage_plan,
                    api_key_name=names.api_key,
                    publisher_role_name=names.publisher_role,
                    method_arn=method_arn(
                        partition=partition,
                        region=runtime.region,
                        account_id=runtime.account_id,
                        api_id=runtime.producer_api_id,
                        stage=runtime.producer_api_stage_name,
                        path=names.endpoint_path,
                    ),
                    publisher_accounts=accounts,
                    permissions_boundary=boundary,
                    partition=partition,
                    auth=producer.auth,
                    throttle_rate_per_second=producer.throttle_rate_per_second,
                    throttle_burst=producer.throttle_burst,
                    description=deployment.description,
                ),
            )
            TerraformOutput(self, "endpoint_path", value=names.endpoint_path)
            TerraformOutput(self, "endpoint_url", value=f"{runtime.producer_api_url.rstrip('/')}{names.endpoint_path}")
            # what the producer assumes (from one of its accounts) to sign its calls
            TerraformOutput(self, "publisher_role_arn", value=self.https.publisher_role.arn)
            if self.https.api_key is not None:
                # the key's id, not its value: the portal hands the value out to the producing team
                TerraformOutput(self, "api_key_id", value=self.https.api_key.id)
        else:
            self.sqs = SqsProducerPipe(
                self,
                "sqs-producer",
                SqsProducerConfig(
                    queue_name=names.queue,
                    dead_letter_queue_name=names.dead_letter_queue,
                    max_receive_count=producer.max_receive_count,
                    pipe_name=names.pipe,
                    pipe_role_name=names.pipe_role,
                    event_bus_arn=runtime.event_bus_arn,
                    source=event.application,
                    detail_type=names.detail_type,
                    account_id=runtime.account_id,
                    sender_accounts=accounts,
                    permissions_boundary=boundary,
                    partition=partition,
                    description=deployment.description,
                ),
            )
            TerraformOutput(self, "queue_url", value=self.sqs.queues.queue.url)
            TerraformOutput(self, "queue_arn", value=self.sqs.queues.queue.arn)
            TerraformOutput(self, "dead_letter_queue_url", value=self.sqs.queues.dead_letter_queue.url)


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


def producer_hooks(deployment: ProducerDeployment, runtime: RuntimeConfig) -> ComponentHooks:
    """The generator's steps around the producer stack of ``deployment`` (pure: no AWS call).

    An HTTPS producer's method hangs under the event type's shared ``/<event_type>`` resource, and reaches
    producers only through a new deployment of the shared stage.
    """
    deploying = deployment.action is DeploymentAction.DEPLOY
    instructions = _producer_instructions(deployment, runtime) if deploying else None
    if isinstance(deployment.producer, HttpsProducer):
        return ComponentHooks(
            redeploy_api_stage=True, parent_resource_path=f"/{deployment.event.event_type}", instructions=instructions
        )
    return ComponentHooks(instructions=instructions)
