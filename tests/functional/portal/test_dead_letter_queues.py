"""The dead-letter queue adapter over moto: a queue that is gone is ``QueueMissing`` on every call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from chalicelib.aws.dead_letters import DeadLetterQueues, QueueMissing

CALLS: dict[str, Callable[[DeadLetterQueues, str], Any]] = {
    "count": lambda queues, url: queues.count(url),
    "receive": lambda queues, url: queues.receive(url, 10, visibility_timeout=0),
}


@pytest.mark.usefixtures("aws")
@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_a_queue_torn_down_after_its_url_was_read_is_queue_missing(call: Callable[..., Any]) -> None:
    sqs = boto3.client("sqs", region_name="eu-west-1")
    queues = DeadLetterQueues(lambda: sqs)
    url = sqs.create_queue(QueueName="dev-consumer-dlq")["QueueUrl"]
    assert queues.url("dev-consumer-dlq") == url
    sqs.delete_queue(QueueUrl=url)  # the consumer's teardown, between two reads of the portal
    with pytest.raises(QueueMissing):
        call(queues, url)
    with pytest.raises(QueueMissing):
        queues.url("dev-consumer-dlq")
