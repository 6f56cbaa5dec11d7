"""moto in-process for local mode's gateway and pump, with a bus whose events land in an observer queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

REGION = "eu-west-1"
BUS = "dev.custom.events.bus"


@dataclass
class Aws:
    """boto3 clients on moto, and the observer queue's URL."""

    apigateway: Any
    events: Any
    sqs: Any
    pipes: Any
    observer_url: str

    def client(self, service: str) -> Any:
        return getattr(self, service)

    def delivered(self) -> list[dict[str, Any]]:
        """Every event the bus delivered to the observer queue since the last call."""
        events = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.observer_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return events
            for message in messages:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.observer_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        events = boto3.client("events", region_name=REGION)
        events.create_event_bus(Name=BUS)
        observer_url = sqs.create_queue(QueueName="observer")["QueueUrl"]
        observer_arn = sqs.get_queue_attributes(QueueUrl=observer_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="observe", EventBusName=BUS, EventPattern=json.dumps({"account": ["123456789012"]}))
        events.put_targets(Rule="observe", EventBusName=BUS, Targets=[{"Id": "observer", "Arn": observer_arn}])
        yield Aws(
            apigateway=boto3.client("apigateway", region_name=REGION),
            events=events,
            sqs=sqs,
            pipes=boto3.client("pipes", region_name=REGION),
            observer_url=observer_url,
        )
