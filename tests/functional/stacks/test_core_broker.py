"""The broker stack: bus, catalog, buckets, producers' API, generator, roles and outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from broker_contract import catalog
from broker_contract.config import RuntimeConfig
from tests.functional.stacks.conftest import CONFIG, Core, ref, resources, the

pytestmark = pytest.mark.xdist_group("core-stacks")

NAMES = CONFIG.names
ROOT = Path(__file__).resolve().parents[3]
REGION_ACCOUNT = "eu-west-1:123456789012"
BUS_ARN = f"arn:aws:events:{REGION_ACCOUNT}:event-bus/dev.custom.events.bus"
QUEUE_ARN = f"arn:aws:sqs:{REGION_ACCOUNT}:{NAMES.generator_queue}"
EXTRA_OUTPUTS = {
    "portal_role_arn",
    "generator_role_arn",
    "generator_repository_url",
    "generator_function_name",
    "schema_registry_arn",
    "kms_key_arn",
    "portal_user_pool_arn",
    "portal_user_pool_id",
    "portal_user_pool_client_id",
}
DEPLOYMENT_BUCKETS = (NAMES.producer_bucket, NAMES.consumer_bucket)
ALL_BUCKETS = (NAMES.schema_bucket, *DEPLOYMENT_BUCKETS, NAMES.artifact_bucket)


def s3(name: str, objects: bool = False) -> str:
    return f"arn:aws:s3:::{name}" + ("/*" if objects else "")


def kms_key_arn(core: Core) -> str:
    (logical_id,) = resources(core.broker, "aws_kms_key")
    return ref("aws_kms_key", logical_id, "arn")


def bucket_part(core: Core, resource_type: str, bucket_name: str) -> dict[str, Any]:
    bucket_id, _ = the(core.broker, "aws_s3_bucket", bucket=bucket_name)
    _, body = the(core.broker, resource_type, bucket=ref("aws_s3_bucket", bucket_id, "id"))
    return body


def role_policy(core: Core, role_name: str) -> dict[str, tuple[str, frozenset[str], frozenset[str]]]:
    """``{Sid: (Effect, actions, resources)}`` of a role's inline policy."""
    role_id, _ = the(core.broker, "aws_iam_role", name=role_name)
    _, body = the(core.broker, "aws_iam_role_policy", role=ref("aws_iam_role", role_id, "id"))
    statements = json.loads(body["policy"])["Statement"]
    assert len({statement["Sid"] for statement in statements}) == len(statements)
    return {s["Sid"]: (s["Effect"], frozenset(s["Action"]), frozenset(s["Resource"])) for s in statements}


def trusted_service(core: Core, role_name: str) -> str:
    _, role = the(core.broker, "aws_iam_role", name=role_name)
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    service: str = statement["Principal"]["Service"]
    return service


def test_state_lives_in_the_bootstrap_bucket(core: Core) -> None:
    assert core.broker["terraform"]["backend"] == {
        "s3": {
            "bucket": NAMES.state_bucket,
            "key": "dev/core/broker.tfstate",
            "region": "eu-west-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }


def test_custom_bus_with_replayable_archive_and_account_policy(core: Core) -> None:
    bus_id, bus = the(core.broker, "aws_cloudwatch_event_bus")
    assert bus["name"] == "dev.custom.events.bus"
    _, archive = the(core.broker, "aws_cloudwatch_event_archive")
    assert archive["name"] == NAMES.event_archive
    assert archive["event_source_arn"] == ref("aws_cloudwatch_event_bus", bus_id, "arn")
    assert archive["retention_days"] == 30
    _, bus_policy = the(core.broker, "aws_cloudwatch_event_bus_policy")
    assert json.loads(bus_policy["policy"])["Statement"] == [
        {
            "Sid": "AccountMayPutEvents",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "events:PutEvents",
            "Resource": BUS_ARN,
        }
    ]


def test_schema_registry(core: Core) -> None:
    _, registry = the(core.broker, "aws_schemas_registry")
    assert registry["name"] == NAMES.schema_registry


def test_catalog_table_follows_the_contract_layout(core: Core) -> None:
    _, table = the(core.broker, "aws_dynamodb_table")
    assert table["name"] == NAMES.catalog_table
    assert (table["hash_key"], table["range_key"]) == (catalog.PARTITION_KEY, catalog.SORT_KEY)
    assert table["attribute"] == [{"name": name, "type": "S"} for name in catalog.KEY_ATTRIBUTES]
    # the portal's listings query these three by name (broker_contract.catalog); none may go missing
    assert [index["name"] for index in table["global_secondary_index"]] == ["by-listing", "by-team", "by-application"]
    assert table["global_secondary_index"] == [
        {"name": index.name, "hash_key": index.partition_key, "range_key": index.sort_key, "projection_type": "ALL"}
        for index in catalog.INDEXES
    ]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": kms_key_arn(core)}
    assert table["deletion_protection_enabled"] is True


@pytest.mark.parametrize("bucket_name", ALL_BUCKETS)
def test_every_bucket_is_encrypted_versioned_private_and_tls_only(core: Core, bucket_name: str) -> None:
    encryption = bucket_part(core, "aws_s3_bucket_server_side_encryption_configuration", bucket_name)
    assert encryption["rule"] == [
        {
            "apply_server_side_encryption_by_default": {
                "sse_algorithm": "aws:kms",
                "kms_master_key_id": kms_key_arn(core),
            },
            "bucket_key_enabled": True,
        }
    ]
    versioning = bucket_part(core, "aws_s3_bucket_versioning", bucket_name)
    assert versioning["versioning_configuration"] == {"status": "Enabled"}
    block = bucket_part(core, "aws_s3_bucket_public_access_block", bucket_name)
    assert [
        block[key]
        for key in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    ] == [True] * 4
    ownership = bucket_part(core, "aws_s3_bucket_ownership_controls", bucket_name)
    assert ownership["rule"] == {"object_ownership": "BucketOwnerEnforced"}
    (statement,) = json.loads(bucket_part(core, "aws_s3_bucket_policy", bucket_name)["policy"])["Statement"]
    assert (statement["Effect"], statement["Condition"]) == ("Deny", {"Bool": {"aws:SecureTransport": "false"}})
    logging = bucket_part(core, "aws_s3_bucket_logging", bucket_name)
    assert logging["target_bucket"] == NAMES.access_log_bucket


def test_producer_stage_never_reverts_the_generators_deployments(core: Core) -> None:
    _, stage = the(core.broker, "aws_api_gateway_stage")
    assert stage["stage_name"] == "dev"
    assert stage["lifecycle"] == {"ignore_changes": ["deployment_id"]}
    assert stage["xray_tracing_enabled"] is True
    log_group_id, log_group = the(core.broker, "aws_cloudwatch_log_group", name=NAMES.producer_api_log_group)
    assert log_group["retention_in_days"] == 365
    assert stage["access_log_settings"]["destination_arn"] == ref("aws_cloudwatch_log_group", log_group_id, "arn")
    _, api = the(core.broker, "aws_api_gateway_rest_api")
    assert (api["name"], api["endpoint_configuration"]) == (NAMES.producer_api, {"types": ["REGIONAL"]})


def test_stage_throttles_logs_and_measures_every_method(core: Core) -> None:
    _, settings = the(core.broker, "aws_api_gateway_method_settings")
    assert settings["method_path"] == "*/*"
    assert settings["settings"] == {
        "metrics_enabled": True,
        "logging_level": "INFO",
        "data_trace_enabled": False,
        "throttling_burst_limit": 100,
        "throttling_rate_limit": 50,
        "caching_enabled": False,
        "cache_data_encrypted": True,
    }


def test_api_has_only_a_mock_health_method(core: Core) -> None:
    (method,) = resources(core.broker, "aws_api_gateway_method").values()
    assert (method["http_method"], method["authorization"]) == ("GET", "NONE")
    _, resource = the(core.broker, "aws_api_gateway_resource")
    assert resource["path_part"] == "health"
    _, integration = the(core.broker, "aws_api_gateway_integration")
    assert integration["type"] == "MOCK"
    _, deployment = the(core.broker, "aws_api_gateway_deployment")
    assert deployment["lifecycle"] == {"create_before_destroy": True}


def test_gateway_responses_explain_bad_bodies_in_json(core: Core) -> None:
    responses = {
        body["response_type"]: body for body in resources(core.broker, "aws_api_gateway_gateway_response").values()
    }
    assert set(responses) == {"BAD_REQUEST_BODY", "DEFAULT_4XX", "DEFAULT_5XX"}
    bad_body = responses["BAD_REQUEST_BODY"]
    assert bad_body["status_code"] == "400"
    assert "$context.error.validationErrorString" in bad_body["response_templates"]["application/json"]
    for response in responses.values():
        assert "$context.error.messageString" in response["response_templates"]["application/json"]


def test_api_gateway_account_logs_through_its_own_role(core: Core) -> None:
    role_id, _ = the(core.broker, "aws_iam_role", name=NAMES.apigateway_cloudwatch_role)
    _, account = the(core.broker, "aws_api_gateway_account")
    assert account["cloudwatch_role_arn"] == ref("aws_iam_role", role_id, "arn")
    assert trusted_service(core, NAMES.apigateway_cloudwatch_role) == "apigateway.amazonaws.com"


def test_apigateway_may_only_put_events_on_the_bus(core: Core) -> None:
    assert trusted_service(core, NAMES.apigateway_events_role) == "apigateway.amazonaws.com"
    assert role_policy(core, NAMES.apigateway_events_role) == {
        "PutEventsOnBrokerBus": ("Allow", frozenset({"events:PutEvents"}), frozenset({BUS_ARN}))
    }


def test_generator_image_repository(core: Core) -> None:
    _, repository = the(core.broker, "aws_ecr_repository")
    assert repository["name"] == NAMES.generator_repository
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == {"scan_on_push": True}
    assert repository["encryption_configuration"] == [{"encryption_type": "KMS", "kms_key": kms_key_arn(core)}]


def test_generator_function_runs_the_image_with_every_runtime_variable(core: Core) -> None:
    repository_id, _ = the(core.broker, "aws_ecr_repository")
    role_id, _ = the(core.broker, "aws_iam_role", name=NAMES.generator_role)
    _, function = the(core.broker, "aws_lambda_function")
    assert function["function_name"] == NAMES.generator_function
    assert function["package_type"] == "Image"
    assert function["image_uri"] == ref("aws_ecr_repository", repository_id, "repository_url") + ":1.2.3"
    assert function["role"] == ref("aws_iam_role", role_id, "arn")
    assert (function["timeout"], function["memory_size"]) == (900, 3008)
    assert function["ephemeral_storage"] == {"size": 4096}
    assert function["reserved_concurrent_executions"] == 10
    assert function["tracing_config"] == {"mode": "Active"}
    variables = function["environment"]["variables"]
    assert set(variables) == {f"BROKER_{name.upper()}" for name in RuntimeConfig.output_names()}
    assert variables["BROKER_STATE_BUCKET_NAME"] == NAMES.state_bucket
    assert variables["BROKER_ENVIRONMENT"] == "dev"


def test_generator_reads_its_queue_reporting_partial_failures(core: Core) -> None:
    queue_id, queue = the(core.broker, "aws_sqs_queue", name=NAMES.generator_queue)
    dlq_id, _ = the(core.broker, "aws_sqs_queue", name=NAMES.generator_dead_letter_queue)
    assert json.loads(queue["redrive_policy"])["deadLetterTargetArn"] == ref("aws_sqs_queue", dlq_id, "arn")
    assert queue["visibility_timeout_seconds"] == 5400
    _, mapping = the(core.broker, "aws_lambda_event_source_mapping")
    assert mapping["event_source_arn"] == ref("aws_sqs_queue", queue_id, "arn")
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["batch_size"] == 1


def test_queue_accepts_notifications_only_from_the_deployment_buckets(core: Core) -> None:
    queue_id, _ = the(core.broker, "aws_sqs_queue", name=NAMES.generator_queue)
    _, policy = the(core.broker, "aws_sqs_queue_policy")
    assert policy["queue_url"] == ref("aws_sqs_queue", queue_id, "url")
    assert json.loads(policy["policy"])["Statement"] == [
        {
            "Sid": "DeploymentFileNotifications",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE_ARN,
            "Condition": {
                "ArnLike": {"aws:SourceArn": [s3(NAMES.producer_bucket), s3(NAMES.consumer_bucket)]},
                "StringEquals": {"aws:SourceAccount": "123456789012"},
            },
        }
    ]


@pytest.mark.parametrize("bucket_name", DEPLOYMENT_BUCKETS)
def test_new_deployment_files_notify_the_generator_queue(core: Core, bucket_name: str) -> None:
    queue_id, _ = the(core.broker, "aws_sqs_queue", name=NAMES.generator_queue)
    policy_id, _ = the(core.broker, "aws_sqs_queue_policy")
    notification = bucket_part(core, "aws_s3_bucket_notification", bucket_name)
    assert notification["queue"] == [
        {"queue_arn": ref("aws_sqs_queue", queue_id, "arn"), "events": ["s3:ObjectCreated:*"], "filter_suffix": ".json"}
    ]
    assert notification["depends_on"] == [f"aws_sqs_queue_policy.{policy_id}"]
    assert len(resources(core.broker, "aws_s3_bucket_notification")) == 2


def test_only_lambda_assumes_the_portal_and_generator_roles(core: Core) -> None:
    # what these roles may do is evaluated against the code's calls in test_core_iam_coverage.py
    assert trusted_service(core, NAMES.portal_role) == "lambda.amazonaws.com"
    assert trusted_service(core, NAMES.generator_role) == "lambda.amazonaws.com"


def test_outputs_are_the_runtime_config_fields_and_the_extras(core: Core) -> None:
    assert set(core.broker["output"]) == set(RuntimeConfig.output_names()) | EXTRA_OUTPUTS
    assert core.broker["output"]["state_bucket_name"] == {"value": NAMES.state_bucket}
    (stage_id,) = resources(core.broker, "aws_api_gateway_stage")
    assert core.broker["output"]["producer_api_url"] == {"value": ref("aws_api_gateway_stage", stage_id, "invoke_url")}


def test_every_output_of_both_stacks_is_documented(core: Core) -> None:
    readme = (ROOT / "README.md").read_text()
    outputs_section = readme.split("\n## Core infrastructure\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", outputs_section, re.MULTILINE))
    outputs = set(core.bootstrap["output"]) | set(core.broker["output"])
    assert sorted(outputs - documented) == []
    assert sorted(documented - outputs) == []


def test_user_pool_outputs_name_the_pool_and_its_client(core: Core) -> None:
    (pool_id,) = resources(core.broker, "aws_cognito_user_pool")
    (client_id,) = resources(core.broker, "aws_cognito_user_pool_client")
    assert {name: core.broker["output"][name]["value"] for name in EXTRA_OUTPUTS if "user_pool" in name} == {
        "portal_user_pool_arn": ref("aws_cognito_user_pool", pool_id, "arn"),
        "portal_user_pool_id": ref("aws_cognito_user_pool", pool_id, "id"),
        "portal_user_pool_client_id": ref("aws_cognito_user_pool_client", client_id, "id"),
    }


def test_portal_users_carry_an_immutable_team_the_portal_can_read_but_not_write(core: Core) -> None:
    (pool,) = core.broker["resource"]["aws_cognito_user_pool"].values()
    assert pool["name"] == NAMES.portal_user_pool
    assert pool["admin_create_user_config"] == {"allow_admin_create_user_only": True}
    assert pool["schema"] == [
        {
            "attribute_data_type": "String",
            "mutable": False,
            "name": "team",
            "required": False,
            "string_attribute_constraints": {"max_length": "48", "min_length": "1"},
        }
    ]
    (client,) = core.broker["resource"]["aws_cognito_user_pool_client"].values()
    assert client["read_attributes"] == ["email", "custom:team"]
    assert client["write_attributes"] == ["email"]
    assert client["generate_secret"] is False
    assert client["explicit_auth_flows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert (client["id_token_validity"], client["token_validity_units"]) == (
        1,
        [{"access_token": "hours", "id_token": "hours"}],
    )
    assert pool["password_policy"]["minimum_length"] == 14
    assert pool["deletion_protection"] == "ACTIVE"
