"""Run-time configuration of the generator: from ``BROKER_*`` variables, or placeholders for offline synthesis."""

from __future__ import annotations

import os
from collections.abc import Mapping

from broker_contract.config import ENV_PREFIX, EnvironmentConfig, RuntimeConfig

#: variables of the generator itself (not outputs of the broker stack)
ENDPOINT_URL_VARIABLE = f"{ENV_PREFIX}AWS_ENDPOINT_URL"
WORK_ROOT_VARIABLE = f"{ENV_PREFIX}GENERATOR_WORK_ROOT"
TERRAFORM_TIMEOUT_VARIABLE = f"{ENV_PREFIX}TERRAFORM_TIMEOUT_SECONDS"


def placeholder_runtime(environment: str = "dev", environ: Mapping[str, str] | None = None) -> RuntimeConfig:
    """A configuration derived from ``config/<environment>.json`` names, with placeholder ids.

    Resource names are the real ones; what only exists after the broker stack is deployed (API id,
    its root resource, the queue URL) is a placeholder, so the result is fit for reading, not applying.
    """
    config = EnvironmentConfig.load(environment, environ=environ)
    names = config.names
    region, account = config.region, config.account_id
    api_id = "placeholder-api-id"
    return RuntimeConfig(
        environment=config.environment,
        region=region,
        account_id=account,
        event_bus_name=names.event_bus,
        event_bus_arn=f"arn:aws:events:{region}:{account}:event-bus/{names.event_bus}",
        catalog_table_name=names.catalog_table,
        schema_registry_name=names.schema_registry,
        schema_bucket_name=names.schema_bucket,
        producer_bucket_name=names.producer_bucket,
        consumer_bucket_name=names.consumer_bucket,
        artifact_bucket_name=names.artifact_bucket,
        state_bucket_name=names.state_bucket,
        lock_table_name=names.lock_table,
        producer_api_id=api_id,
        producer_api_root_resource_id="placeholder-root-id",
        producer_api_stage_name=names.producer_api_stage,
        producer_api_url=f"https://{api_id}.execute-api.{region}.amazonaws.com/{names.producer_api_stage}",
        apigateway_events_role_arn=f"arn:aws:iam::{account}:role/{names.apigateway_events_role}",
        generator_queue_url=f"https://sqs.{region}.amazonaws.com/{account}/{names.generator_queue}",
    )


def runtime_or_placeholder(environment: str, environ: Mapping[str, str] | None = None) -> tuple[RuntimeConfig, bool]:
    """``(config, from_env)``: the ``BROKER_*`` configuration when complete, else :func:`placeholder_runtime`."""
    env = os.environ if environ is None else environ
    try:
        return RuntimeConfig.from_env(env), True
    except RuntimeError:
        return placeholder_runtime(environment, env), False
