"""SQS producer: a dedicated queue piped into the bus by an EventBridge Pipe.

The producer sends the envelope as the message body; the pipe puts it on the bus with the event
version's detail-type and the application as source. Messages the pipe cannot deliver return to
the queue and land in its dead-letter queue after ``max_receive_count`` receives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.pipes_pipe import (
    PipesPipe,
    PipesPipeSourceParameters,
    PipesPipeSourceParametersSqsQueueParameters,
    PipesPipeTargetParameters,
    PipesPipeTargetParametersEventbridgeEventBusParameters,
)
from cdktf_cdktf_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from modules.shared.iam import ServiceRoleConfig, Statement, policy_document, service_role
from modules.shared.queue import QueueWithDlq, QueueWithDlqConfig

#: Pipes parse a JSON message body, so ``<$.body>`` makes the envelope itself the event's detail.
PIPE_INPUT_TEMPLATE = "<$.body>"
PIPE_BATCH_SIZE = 10

QUEUE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
#: what a producer of another account needs on the queue: find it and send to it
SENDER_ACTIONS = ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]


def producer_queue_statements(queue_arn: str, sender_accounts: list[str], partition: str = "aws") -> list[Statement]:
    """The producer queue's policy: the listed accounts may send (over TLS only); nobody else is granted anything.

    Principals of another account still need ``sqs:SendMessage`` in their own IAM policy: the account
    grants here are the queue's half of a cross-account permission.
    """
    principals = [f"arn:{partition}:iam::{account}:root" for account in sender_accounts]
    return [
        {
            "Sid": "ProducerAccountsSend",
            "Effect": "Allow",
            "Principal": {"AWS": principals},
            "Action": SENDER_ACTIONS,
            "Resource": queue_arn,
        },
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]


@dataclass(frozen=True)
class SqsProducerConfig:
    """Names of the queue pair, pipe and role, and what the pipe puts on the bus.

    ``account_id`` restricts the pipe role's trust to pipes of this account; ``sender_accounts`` may
    send to the queue (the queue's policy); ``permissions_boundary`` caps the pipe role.
    """

    queue_name: str
    dead_letter_queue_name: str
    max_receive_count: int
    pipe_name: str
    pipe_role_name: str
    event_bus_arn: str
    source: str
    detail_type: str
    account_id: str
    sender_accounts: tuple[str, ...] = ()
    permissions_boundary: str | None = None
    partition: str = "aws"
    description: str = ""


class SqsProducerPipe(Construct):
    """Queue (with DLQ) -> EventBridge Pipe -> bus, with a role allowed exactly that."""

    queues: QueueWithDlq
    queue_policy: SqsQueuePolicy
    role: IamRole
    role_policy: IamRolePolicy
    pipe: PipesPipe

    def __init__(self, scope: Construct, construct_id: str, config: SqsProducerConfig) -> None:
        super().__init__(scope, construct_id)
        self.queues = QueueWithDlq(
            self,
            "queues",
            QueueWithDlqConfig(
                name=config.queue_name,
                dead_letter_name=config.dead_letter_queue_name,
                max_receive_count=config.max_receive_count,
            ),
        )
        # the queue is the producer's alone: its stack owns the whole policy
        self.queue_policy = SqsQueuePolicy(
            self,
            "queue-policy",
            queue_url=self.queues.queue.url,
            policy=json.dumps(
                policy_document(
                    producer_queue_statements(
                        self.queues.queue.arn, list(config.sender_accounts or (config.account_id,)), config.partition
                    )
                )
            ),
        )
        self.role, self.role_policy = service_role(
            self,
            "role",
            ServiceRoleConfig(
                name=config.pipe_role_name,
                service="pipes.amazonaws.com",
                description=f"EventBridge Pipe of the {config.detail_type} producer queue",
                policy_name="pipe-queue-to-bus",
                statements=[
                    {
                        "Sid": "ReadProducerQueue",
                        "Effect": "Allow",
                        "Action": QUEUE_ACTIONS,
                        "Resource": self.queues.queue.arn,
                    },
                    {
                        "Sid": "PutOnBus",
                        "Effect": "Allow",
                        "Action": "events:PutEvents",
                        "Resource": config.event_bus_arn,
                    },
                ],
                source_account=config.account_id,
                permissions_boundary=config.permissions_boundary,
            ),
        )
        self.pipe = PipesPipe(
            self,
            "pipe",
            name=config.pipe_name,
            description=f"Producer queue of {config.detail_type} to the event bus",
            role_arn=self.role.arn,
            source=self.queues.queue.arn,
            source_parameters=PipesPipeSourceParameters(
                sqs_queue_parameters=PipesPipeSourceParametersSqsQueueParameters(batch_size=PIPE_BATCH_SIZE)
            ),
            target=config.event_bus_arn,
            target_parameters=PipesPipeTargetParameters(
                input_template=PIPE_INPUT_TEMPLATE,
                eventbridge_event_bus_parameters=PipesPipeTargetParametersEventbridgeEventBusParameters(
                    detail_type=config.detail_type, source=config.source
                ),
            ),
            # the pipe checks its permissions when it is created
            depends_on=[self.role_policy],
        )
