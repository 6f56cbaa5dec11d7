"""An encrypted SQS queue with its own encrypted dead-letter queue."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.sqs_queue import SqsQueue
from constructs import Construct


@dataclass(frozen=True)
class QueueWithDlqConfig:
    """Names and limits of the queue pair.

    ``kms_key_id`` selects a customer managed key; without it SQS-managed encryption (SSE-SQS) is used.
    """

    name: str
    dead_letter_name: str
    max_receive_count: int = 5
    visibility_timeout_seconds: int = 30
    message_retention_seconds: int = 345_600
    dead_letter_retention_seconds: int = 1_209_600
    kms_key_id: str | None = None


class QueueWithDlq(Construct):
    """A queue whose messages move to ``dead_letter_queue`` after ``max_receive_count`` receives."""

    queue: SqsQueue
    dead_letter_queue: SqsQueue

    def __init__(self, scope: Construct, construct_id: str, config: QueueWithDlqConfig) -> None:
        super().__init__(scope, construct_id)
        encryption: dict[str, object] = (
            {"kms_master_key_id": config.kms_key_id, "kms_data_key_reuse_period_seconds": 300}
            if config.kms_key_id
            else {"sqs_managed_sse_enabled": True}
        )
        self.dead_letter_queue = SqsQueue(
            self,
            "dlq",
            name=config.dead_letter_name,
            message_retention_seconds=config.dead_letter_retention_seconds,
            **encryption,  # type: ignore[arg-type]
        )
        self.queue = SqsQueue(
            self,
            "queue",
            name=config.name,
            visibility_timeout_seconds=config.visibility_timeout_seconds,
            message_retention_seconds=config.message_retention_seconds,
            # the ARN is a cdktf token inside the string; it resolves to the DLQ's ARN at synthesis
            redrive_policy=json.dumps(
                {"deadLetterTargetArn": self.dead_letter_queue.arn, "maxReceiveCount": config.max_receive_count}
            ),
            **encryption,  # type: ignore[arg-type]
        )
