"""Local and test wiring: the catalog table and buckets as the broker stack creates them, over any client.

Used by the functional tests (moto), the listing benchmark and local mode (moto_server); the
table layout comes from ``broker_contract.catalog``, the names from ``broker_contract.names``.
"""

from __future__ import annotations

from typing import Any

from broker_contract.catalog import INDEXES, PARTITION_KEY, SORT_KEY
from broker_contract.config import RuntimeConfig
from broker_contract.names import BrokerNames


def runtime_config(
    environment: str = "dev", region: str = "eu-west-1", account_id: str = "123456789012"
) -> RuntimeConfig:
    """A complete runtime configuration derived from the broker's names (what the stack would output)."""
    names = BrokerNames(environment, region, account_id)
    api_id = "localapi01"
    return RuntimeConfig(
        environment=environment,
        region=region,
        account_id=account_id,
        event_bus_name=names.event_bus,
        event_bus_arn=f"arn:aws:events:{region}:{account_id}:event-bus/{names.event_bus}",
        catalog_table_name=names.catalog_table,
        schema_registry_name=names.schema_registry,
        schema_bucket_name=names.schema_bucket,
        producer_bucket_name=names.producer_bucket,
        consumer_bucket_name=names.consumer_bucket,
        artifact_bucket_name=names.artifact_bucket,
        state_bucket_name=names.state_bucket,
        lock_table_name=names.lock_table,
        producer_api_id=api_id,
        producer_api_root_resource_id="root000001",
        producer_api_stage_name=names.producer_api_stage,
        producer_api_url=f"https://{api_id}.execute-api.{region}.amazonaws.com/{names.producer_api_stage}",
        apigateway_events_role_arn=f"arn:aws:iam::{account_id}:role/{names.apigateway_events_role}",
        generator_queue_url=f"https://sqs.{region}.amazonaws.com/{account_id}/{names.generator_queue}",
    )


def create_catalog_table(dynamodb: Any, table_name: str) -> None:
    """Create the catalog table with the keys and indexes of ``broker_contract.catalog``."""
    attributes = [
        PARTITION_KEY,
        SORT_KEY,
        *(name for index in INDEXES for name in (index.partition_key, index.sort_key)),
    ]
    dynamodb.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in attributes],
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition_key, "KeyType": "HASH"},
                    {"AttributeName": index.sort_key, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in INDEXES
        ],
    )


def create_buckets(s3: Any, config: RuntimeConfig) -> None:
    """Create the schema, producer, consumer and artifact buckets."""
    for bucket in (
        config.schema_bucket_name,
        config.producer_bucket_name,
        config.consumer_bucket_name,
        config.artifact_bucket_name,
    ):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": config.region})
