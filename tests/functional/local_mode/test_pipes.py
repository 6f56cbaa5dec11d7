"""Local mode's pipe pump over pipes created in moto the way the SQS producer stack creates them."""

from __future__ import annotations

import json
import time
from typing import Any

from local_mode.pipes import PipePump
from modules.producers.sqs import PIPE_BATCH_SIZE, PIPE_INPUT_TEMPLATE
from tests.functional.local_mode.conftest import BUS, REGION, Aws

BUS_ARN = f"arn:aws:events:{REGION}:123456789012:event-bus/{BUS}"
PAYMENT = {"metadata": {"event_attributes": {"source": "pay", "target": "billing"}}, "data": {"payment_id": "p-1"}}


def producer_queue(aws: Aws, name: str = "payments", *, state: str = "RUNNING") -> str:
    """A producer queue with its pipe to the bus (the SQS producer's template and parameters); the queue URL."""
    url: str = aws.sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.pipes.create_pipe(
        Name=f"pipe-{name}",
        DesiredState=state,
        RoleArn="arn:aws:iam::123456789012:role/pipe",
        Source=arn,
        SourceParameters={"SqsQueueParameters": {"BatchSize": PIPE_BATCH_SIZE}},
        Target=BUS_ARN,
        TargetParameters={
            "InputTemplate": PIPE_INPUT_TEMPLATE,
            "EventBridgeEventBusParameters": {"DetailType": "payment-settled.2", "Source": "payments"},
        },
    )
    return url


def pump_once(aws: Aws) -> tuple[PipePump, int]:
    pump = PipePump("http://unused", REGION, client_factory=aws.client)
    pump.refresh()
    return pump, sum(pump.pump(pipe) for pipe in pump.pipes)


def waiting(aws: Aws, url: str) -> int:
    attributes = aws.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_messages_become_events_with_the_envelope_as_detail_and_are_deleted(aws: Aws) -> None:
    url = producer_queue(aws)
    bodies = [{**PAYMENT, "data": {"payment_id": f"p-{n}"}} for n in range(12)]
    for body in bodies:
        aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    pump, delivered = pump_once(aws)
    assert delivered == PIPE_BATCH_SIZE  # one batch per round, of the pipe's batch size
    while pump.pump(pump.pipes[0]):
        pass
    events = aws.delivered()
    assert sorted((e["detail"] for e in events), key=lambda d: d["data"]["payment_id"]) == sorted(
        bodies, key=lambda d: d["data"]["payment_id"]
    )
    assert {(e["detail-type"], e["source"]) for e in events} == {("payment-settled.2", "payments")}
    assert waiting(aws, url) == 0


def test_a_refused_event_leaves_its_message_in_the_queue(aws: Aws) -> None:
    url = producer_queue(aws)
    # not JSON: with <$.body> the detail is the text itself, which EventBridge refuses as a detail
    aws.sqs.send_message(QueueUrl=url, MessageBody="not json")
    _, delivered = pump_once(aws)
    assert delivered == 0
    assert aws.delivered() == []
    assert waiting(aws, url) == 1


def test_stopped_pipes_are_not_run(aws: Aws) -> None:
    url = producer_queue(aws, state="STOPPED")
    aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(PAYMENT))
    pump, delivered = pump_once(aws)
    assert (pump.pipes, delivered) == ([], 0)
    assert waiting(aws, url) == 1


def test_the_thread_picks_up_pipes_created_after_it_started(aws: Aws) -> None:
    pump = PipePump("http://unused", REGION, client_factory=aws.client, refresh_seconds=0.1, idle_seconds=0.05)
    pump.start()
    try:
        url = producer_queue(aws, "late")
        aws.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(PAYMENT))
        events: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.1)
            events = aws.delivered()
        assert [event["detail"] for event in events] == [PAYMENT]
    finally:
        pump.stop()
