"""The embedded AWS's snapshot of the applied core: what Terraform created comes back, as it was, on the next start."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from local_mode import snapshot

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def test_every_core_service_comes_back_from_a_snapshot(tmp_path: Path) -> None:
    file = tmp_path / "state.pickle"
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="core-state", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket="core-state", Key="local/core/broker.tfstate", Body=b'{"serial": 7}')
        queue_url = boto3.client("sqs", region_name=REGION).create_queue(QueueName="deployments")["QueueUrl"]
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName="catalog",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        key_id = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
        pool = boto3.client("cognito-idp", region_name=REGION).create_user_pool(PoolName="portal")["UserPool"]["Id"]
        boto3.client("events", region_name=REGION).create_event_bus(Name="local.custom.events.bus")
        api = boto3.client("apigateway", region_name=REGION).create_rest_api(name="producers")["id"]
        snapshot.dump(file)

    with mock_aws():
        # a new, empty moto: nothing of the above exists until the snapshot is restored
        assert boto3.client("sqs", region_name=REGION).list_queues().get("QueueUrls", []) == []
        snapshot.restore(file)

        state = boto3.client("s3", region_name=REGION).get_object(Bucket="core-state", Key="local/core/broker.tfstate")
        assert state["Body"].read() == b'{"serial": 7}'
        assert boto3.client("sqs", region_name=REGION).list_queues()["QueueUrls"] == [queue_url]
        assert boto3.client("dynamodb", region_name=REGION).list_tables()["TableNames"] == ["catalog"]
        # the key's material came back too: it still encrypts and decrypts
        kms = boto3.client("kms", region_name=REGION)
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
        assert boto3.client("cognito-idp", region_name=REGION).describe_user_pool(UserPoolId=pool)["UserPool"]
        buses = boto3.client("events", region_name=REGION).list_event_buses()["EventBuses"]
        assert "local.custom.events.bus" in [bus["Name"] for bus in buses]
        assert boto3.client("apigateway", region_name=REGION).get_rest_api(restApiId=api)["name"] == "producers"
