"""The generator's queue adapter under moto: what a failed deployment message does next."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

import generator.handler as handler_module
from generator.handler import retry_sooner
from generator.queue import DeploymentQueue, QueueUnavailable

REGION = "eu-west-1"


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeploymentQueue]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="dev-eb-generator", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
        for body in ("first", "second"):
            sqs.send_message(QueueUrl=url, MessageBody=body)
        yield DeploymentQueue(url, lambda: sqs)


def test_a_failed_lambda_record_comes_back_when_told_and_the_others_stay_hidden(
    queue: DeploymentQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    received = queue.receive(0) + queue.receive(0)
    assert sorted(message.body for message in received) == ["first", "second"]
    assert queue.receive(0) == []  # both hidden for the queue's 300 s
    failed = received[0]
    event = {
        "Records": [
            {"messageId": message.message_id, "receiptHandle": message.receipt_handle, "body": message.body}
            for message in received
        ]
    }
    monkeypatch.setattr(handler_module, "RETRY_AFTER_SECONDS", 0)

    retry_sooner(queue, event, {failed.message_id})

    assert [message.body for message in queue.receive(0)] == [failed.body]
    assert queue.receive(0) == []


def test_a_processed_message_deleted_never_comes_back(queue: DeploymentQueue) -> None:
    (message,) = queue.receive(0)
    queue.delete(message.receipt_handle)
    (other,) = queue.receive(0)
    queue.retry_in(other.receipt_handle, 0)

    assert [again.body for again in queue.receive(0)] == [other.body]


def test_a_queue_that_does_not_answer_is_unavailable_not_a_crash(queue: DeploymentQueue) -> None:
    gone = DeploymentQueue(queue.queue_url + "-missing", lambda: queue.client)

    with pytest.raises(QueueUnavailable, match="cannot receive from"):
        gone.receive(0)
