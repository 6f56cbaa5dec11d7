"""The generator's SQS adapter: the queue of deployment files' notifications.

The local worker receives from it and deletes what it processed; the Lambda (whose messages SQS
deletes itself) and the worker both make a failed message visible again sooner than the queue's
visibility timeout. The only place of the generator that speaks SQS: a failed receive is
:class:`QueueUnavailable` (the local endpoint may be restarting: the worker keeps polling).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from broker_contract.lazy_client import LazyClient


class QueueUnavailable(RuntimeError):
    """The queue did not answer a receive (endpoint down or restarting, throttled, no permission)."""


@dataclass(frozen=True)
class QueueMessage:
    """One received notification: its id (the batch item's identifier), body and receipt handle."""

    message_id: str
    body: str
    receipt_handle: str


class DeploymentQueue(LazyClient):
    """The queue at ``queue_url``, through a boto3 SQS client built on first use."""

    def __init__(self, queue_url: str, client_factory: Callable[[], Any]) -> None:
        super().__init__(client_factory)
        self.queue_url = queue_url

    def receive(self, wait_seconds: int) -> list[QueueMessage]:
        """At most one message, waiting up to ``wait_seconds``; :class:`QueueUnavailable` when the queue fails."""
        # imported here: ``generator.handler`` imports this module and must load no boto3 until it is needed
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            response = self.client.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_seconds
            )
        except (BotoCoreError, ClientError) as error:
            raise QueueUnavailable(f"cannot receive from {self.queue_url}: {error}") from error
        return [
            QueueMessage(message["MessageId"], message["Body"], message["ReceiptHandle"])
            for message in response.get("Messages", [])
        ]

    def retry_in(self, receipt_handle: str, seconds: int) -> None:
        """Make a received message visible again in ``seconds`` (it is then retried, or goes to the DLQ)."""
        self.client.change_message_visibility(
            QueueUrl=self.queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
        )

    def delete(self, receipt_handle: str) -> None:
        """Remove a message that was processed (or that can never succeed)."""
        self.client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=receipt_handle)
