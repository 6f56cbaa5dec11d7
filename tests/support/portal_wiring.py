"""Test and benchmark wiring for the portal: the catalog table and buckets as the broker stack creates them.

Used by the portal's functional tests (moto) and the listing benchmark; it is not part of the portal's
Lambda bundle. The table layout comes from ``broker_contract.catalog``, the names from ``broker_contract.names``.
"""

from __future__ import annotations

from typing import Any

from broker_contract.catalog import create_table_arguments
from broker_contract.config import RuntimeConfig
from broker_contract.names import BrokerNames


def runtime_config(
    environment: str = "dev", region: str = "eu-west-1", account_id: str = "123456789012"
) -> RuntimeConfig:
    """A complete runtime configuration derived from the broker's names (what the stack would output)."""
    return RuntimeConfig.derived(
        BrokerNames(environment, region, account_id), producer_api_id="localapi01", root_resource_id="root000001"
    )


def create_catalog_table(dynamodb: Any, table_name: str) -> None:
    """Create the catalog table with the keys and indexes of ``broker_contract.catalog``."""
    dynamodb.create_table(**create_table_arguments(table_name))


def create_buckets(s3: Any, config: RuntimeConfig) -> None:
    """Create the schema, producer, consumer and artifact buckets."""
    for bucket in (
        config.schema_bucket_name,
        config.producer_bucket_name,
        config.consumer_bucket_name,
        config.artifact_bucket_name,
    ):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": config.region})
