"""SQS adapter for the dead-letter queue of a subscription's rule target (named by ``ConsumerNames``).

EventBridge puts an event it could not deliver in the DLQ as the message body, with the reason as
message attributes (``ERROR_CODE``, ``ERROR_MESSAGE``, ``RULE_ARN``, ``TARGET_ARN``). Every call
raises ``QueueMissing`` when the queue does not exist, also one torn down between two calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from broker_contract.lazy_client import LazyClient

#: ReceiveMessage returns at most this many messages per call (SQS limit)
RECEIVE_LIMIT = 10
#: SQS's error codes for a queue that does not exist (query and JSON protocols)
_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


class QueueMissing(Exception):
    """The dead-letter queue does not exist (the consumer is not deployed yet, or torn down)."""


@contextmanager
def _queue_must_exist(queue: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _MISSING:
            raise QueueMissing(queue) from error
        raise


@dataclass(frozen=True)
class QueuedMessage:
    """One message: its id, receipt handle, body, string attributes and when it was sent (epoch ms)."""

    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str]
    sent_timestamp_ms: int | None


class DeadLetterQueues(LazyClient):
    """Read, count and delete messages of dead-letter queues over an injected ``sqs`` client."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        super().__init__(client_factory)

    def url(self, queue_name: str) -> str:
        with _queue_must_exist(queue_name):
            return str(self.client.get_queue_url(QueueName=queue_name)["QueueUrl"])

    def count(self, queue_url: str) -> int:
        with _queue_must_exist(queue_url):
            attributes = self.client.get_queue_attributes(
                QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def receive(self, queue_url: str, limit: int, visibility_timeout: int) -> list[QueuedMessage]:
        """Up to ``limit`` (≤ 10) messages, hidden from other readers for ``visibility_timeout`` seconds."""
        if limit <= 0:
            return []
        with _queue_must_exist(queue_url):
            response = self.client.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=min(limit, RECEIVE_LIMIT),
                VisibilityTimeout=visibility_timeout,
                WaitTimeSeconds=0,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["SentTimestamp"],
            )
        messages = []
        for message in response.get("Messages", []):
            attributes = {
                name: str(value.get("StringValue", ""))
                for name, value in (message.get("MessageAttributes") or {}).items()
            }
            sent = (message.get("Attributes") or {}).get("SentTimestamp")
            messages.append(
                QueuedMessage(
                    message_id=str(message["MessageId"]),
                    receipt_handle=str(message["ReceiptHandle"]),
                    body=str(message.get("Body", "")),
                    attributes=attributes,
                    sent_timestamp_ms=int(sent) if sent and str(sent).isascii() and str(sent).isdigit() else None,
                )
            )
        return messages

    def release(self, queue_url: str, messages: list[QueuedMessage]) -> None:
        """Make received messages visible again at once (a sample must not hide them)."""
        with _queue_must_exist(queue_url):
            for message in messages:
                self.client.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message.receipt_handle, VisibilityTimeout=0
                )

    def delete(self, queue_url: str, messages: list[QueuedMessage]) -> None:
        with _queue_must_exist(queue_url):
            for message in messages:
                self.client.delete_message(QueueUrl=queue_url, ReceiptHandle=message.receipt_handle)
