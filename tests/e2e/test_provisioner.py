"""Local mode creates in moto what the core stacks declare, and builds the runtime config from their outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from broker_contract import catalog
from broker_contract.config import RuntimeConfig
from local_mode.provision import Provisioner, ProvisioningError, StackDocument, creation_order
from local_mode.references import UnresolvedReferenceError, resolve
from local_mode.settings import LocalSettings
from local_mode.synth import STACKS, stack_file

pytestmark = pytest.mark.xdist_group("e2e")

FIXTURE = Path(__file__).parent / "fixtures" / "mini_broker.tf.json"
REGION = "eu-west-1"
ENDPOINT = "http://127.0.0.1:4566"


class PlainClients:
    """boto3 clients without an endpoint, so in-process mock_aws intercepts them."""

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def provisioner() -> Provisioner:
    return Provisioner(PlainClients(), REGION, "123456789012", ENDPOINT)


def test_resolve_substitutes_whole_and_embedded_references() -> None:
    values = {"aws_sqs_queue.dlq.arn": "arn:aws:sqs:eu-west-1:123456789012:dlq", "aws_x.y.count": 3}

    def lookup(reference: str) -> object:
        return values[reference]

    assert resolve("${aws_x.y.count}", lookup) == 3
    assert resolve('{"deadLetterTargetArn": "${aws_sqs_queue.dlq.arn}"}', lookup) == (
        '{"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:dlq"}'
    )
    assert resolve(["plain", {"k": "${aws_x.y.count}"}], lookup) == ["plain", {"k": 3}]


def test_resolve_refuses_expressions_it_cannot_evaluate() -> None:
    with pytest.raises(UnresolvedReferenceError, match="cannot evaluate"):
        resolve('${jsonencode({"a" = 1})}', lambda reference: "x")


def test_creation_order_puts_a_dead_letter_queue_before_the_queue_that_names_it() -> None:
    document = StackDocument.load(FIXTURE)
    order = creation_order(document.resources)
    assert order.index("aws_sqs_queue.deployments_dlq_DEC1817E") < order.index(
        "aws_sqs_queue.deployments_queue_8DD6C6C1"
    )
    assert order.index("aws_sqs_queue.deployments_queue_8DD6C6C1") < order.index("aws_s3_bucket_notification.n")
    assert order.index("aws_s3_bucket.producers") < order.index("aws_s3_bucket_versioning.v")


def test_mini_stack_is_created_as_declared(aws: None) -> None:
    result = provisioner().provision(StackDocument.load(FIXTURE))

    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName="dev-cat")["Table"]
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert [(i["IndexName"], i["KeySchema"], i["Projection"]) for i in table["GlobalSecondaryIndexes"]] == [
        ("by-x", [{"AttributeName": "g", "KeyType": "HASH"}], {"ProjectionType": "ALL"})
    ]
    s3 = boto3.client("s3", region_name=REGION)
    assert s3.get_bucket_versioning(Bucket="dev-prod-bucket")["Status"] == "Enabled"
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="dev-dep")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": "arn:aws:sqs:eu-west-1:123456789012:dev-dep-dlq",
        "maxReceiveCount": 5,
    }
    assert attributes["VisibilityTimeout"] == "30"
    notification = s3.get_bucket_notification_configuration(Bucket="dev-prod-bucket")["QueueConfigurations"]
    assert [(n["QueueArn"], n["Events"], n["Filter"]) for n in notification] == [
        (
            "arn:aws:sqs:eu-west-1:123456789012:dev-dep",
            ["s3:ObjectCreated:*"],
            {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".json"}]}},
        )
    ]
    api = boto3.client("apigateway", region_name=REGION).get_rest_apis()["items"]
    assert result.outputs == {
        "account_id": "123456789012",
        "generator_queue_url": url,
        "producer_api_root_resource_id": api[0]["rootResourceId"],
    }
    assert result.skipped == {}


def test_a_core_resource_moto_refuses_stops_provisioning(aws: None) -> None:
    document = StackDocument.from_json(
        "broken", {"resource": {"aws_s3_bucket": {"b": {"bucket": "${aws_kms_key.missing.arn}"}}}}
    )
    with pytest.raises(ProvisioningError, match=r"broken: cannot create aws_s3_bucket\.b"):
        provisioner().provision(document)


def test_real_core_stacks_make_a_complete_runtime_config(core_stacks: Path, aws: None) -> None:
    p = provisioner()
    outputs: dict[str, Any] = {}
    results = {}
    for name in STACKS:
        result = p.provision(StackDocument.load(stack_file(core_stacks, name)))
        p.remote_outputs.update(result.outputs)
        outputs.update(result.outputs)
        results[name] = result
    runtime = RuntimeConfig.from_outputs(outputs)
    names = LocalSettings().environment_config().names

    assert runtime.event_bus_name == names.event_bus == "local.custom.events.bus"
    assert runtime.catalog_table_name == names.catalog_table
    assert runtime.state_bucket_name == names.state_bucket
    assert runtime.schema_registry_name == names.schema_registry
    assert runtime.generator_queue_url.endswith(f"/123456789012/{names.generator_queue}")
    assert runtime.producer_api_url.startswith(f"{ENDPOINT}/restapis/{runtime.producer_api_id}/")
    # the registry is the one core resource moto cannot hold
    assert "aws_schemas_registry" in results["broker"].skipped

    table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=runtime.catalog_table_name)["Table"]
    indexes = {
        index["IndexName"]: [key["AttributeName"] for key in index["KeySchema"]]
        for index in table["GlobalSecondaryIndexes"]
    }
    assert indexes == {index.name: [index.partition_key, index.sort_key] for index in catalog.INDEXES}
    s3 = boto3.client("s3", region_name=REGION)
    queue_arn = f"arn:aws:sqs:{REGION}:123456789012:{names.generator_queue}"
    for bucket in (runtime.producer_bucket_name, runtime.consumer_bucket_name):
        targets = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
        assert [target["QueueArn"] for target in targets] == [queue_arn]
    events = boto3.client("events", region_name=REGION)
    assert events.describe_event_bus(Name=runtime.event_bus_name)["Arn"] == runtime.event_bus_arn
    assert [a["ArchiveName"] for a in events.list_archives()["Archives"]] == [names.event_archive]
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert {runtime.state_bucket_name, runtime.artifact_bucket_name, runtime.schema_bucket_name} <= buckets
