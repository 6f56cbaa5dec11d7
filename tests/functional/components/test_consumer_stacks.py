"""Consumer stacks as synthesized: rule, target, DLQ, and each delivery kind's permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker_contract.models import ConsumerDeployment
from cdktf_stacks.components import post_apply_hints
from tests.functional.components.conftest import (
    ACCOUNT,
    BASIC_SECRET,
    NAMES,
    OAUTH_SECRET,
    OTHER_ACCOUNT,
    REGION,
    RUNTIME,
    Synthesized,
    one,
    ref,
    resources_of,
)

pytestmark = pytest.mark.xdist_group("components")

CONSUMERS = [
    "consumer-lambda",
    "consumer-sqs",
    "consumer-https",
    "consumer-lambda-numeric-filter",
    "consumer-lambda-prefix-filter",
    "consumer-lambda-escaping-filter",
    "consumer-lambda-cross-account",
    "consumer-sqs-unmanaged",
    "consumer-sqs-cross-account",
    "consumer-sqs-fifo",
    "consumer-https-basic",
    "consumer-https-oauth",
    "consumer-https-noauth",
]


def consumer(synthesized: dict[str, Synthesized], name: str) -> tuple[ConsumerDeployment, dict[str, Any]]:
    built = synthesized[name]
    assert isinstance(built.deployment, ConsumerDeployment)
    return built.deployment, built.json


def dlq_of(stack: dict[str, Any], deployment: ConsumerDeployment) -> tuple[str, dict[str, Any]]:
    name = NAMES.consumer(deployment.subscription_id).dead_letter_queue
    return next((key, body) for key, body in stack["resource"]["aws_sqs_queue"].items() if body["name"] == name)


def policy_for(stack: dict[str, Any], queue_url: str) -> dict[str, Any]:
    (body,) = [body for body in resources_of(stack, "aws_sqs_queue_policy") if body["queue_url"] == queue_url]
    policy: dict[str, Any] = json.loads(body["policy"])
    return policy


@pytest.mark.parametrize("name", CONSUMERS)
def test_stack_id_backend_and_tags(synthesized: dict[str, Synthesized], name: str) -> None:
    deployment, stack = consumer(synthesized, name)
    names = NAMES.consumer(deployment.subscription_id)
    assert synthesized[name].stack_id == names.stack == f"consumer-{deployment.subscription_id}"
    assert stack["terraform"]["backend"]["s3"] == {
        "bucket": NAMES.state_bucket,
        "key": f"dev/consumers/{deployment.subscription_id}/terraform.tfstate",
        "region": REGION,
        "encrypt": True,
        "use_lockfile": True,
    }
    assert stack["provider"]["aws"][0]["default_tags"] == [
        {"tags": {"environment": "dev", "component": names.component_id, "managed-by": "event-broker"}}
    ]


@pytest.mark.parametrize("name", CONSUMERS)
def test_rule_on_the_bus_with_the_subscription_pattern(synthesized: dict[str, Synthesized], name: str) -> None:
    deployment, stack = consumer(synthesized, name)
    rule = one(stack, "aws_cloudwatch_event_rule")
    assert rule["name"] == NAMES.consumer(deployment.subscription_id).rule
    assert rule["event_bus_name"] == "dev.custom.events.bus"
    assert rule["state"] == "ENABLED"
    expected: dict[str, Any] = {
        "source": [deployment.event.application],
        "detail-type": [deployment.event.detail_type],
        "detail": {"metadata": {"event_attributes": {"target": [deployment.target_unit]}}},
    }
    if deployment.content_filter is not None:
        expected["detail"]["data"] = deployment.content_filter
    assert json.loads(rule["event_pattern"]) == expected


def test_content_filters_land_under_detail_data(synthesized: dict[str, Synthesized]) -> None:
    _, stack = consumer(synthesized, "consumer-lambda")
    assert json.loads(one(stack, "aws_cloudwatch_event_rule")["event_pattern"])["detail"]["data"] == {
        "currency": ["EUR"]
    }
    _, stack = consumer(synthesized, "consumer-sqs")
    assert "data" not in json.loads(one(stack, "aws_cloudwatch_event_rule")["event_pattern"])["detail"]


@pytest.mark.parametrize("name", CONSUMERS)
def test_target_retries_then_dead_letters_into_its_own_encrypted_queue(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    deployment, stack = consumer(synthesized, name)
    dlq_id, dlq = dlq_of(stack, deployment)
    assert dlq == {
        "name": NAMES.consumer(deployment.subscription_id).dead_letter_queue,
        "message_retention_seconds": 1_209_600,
        "sqs_managed_sse_enabled": True,
    }
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["rule"] == ref(stack, "aws_cloudwatch_event_rule", "name")
    assert target["event_bus_name"] == "dev.custom.events.bus"
    assert target["target_id"] == f"{deployment.subscription_id}-target"
    assert target["retry_policy"] == {
        "maximum_retry_attempts": deployment.max_retry_attempts,
        "maximum_event_age_in_seconds": deployment.max_event_age_seconds,
    }
    assert target["dead_letter_config"] == {"arn": f"${{aws_sqs_queue.{dlq_id}.arn}}"}
    assert policy_for(stack, f"${{aws_sqs_queue.{dlq_id}.url}}")["Statement"] == [
        {
            "Sid": "".join(part.capitalize() for part in f"dev-{deployment.subscription_id}-dlq".split("-")),
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": f"${{aws_sqs_queue.{dlq_id}.arn}}",
            "Condition": {"ArnEquals": {"aws:SourceArn": ref(stack, "aws_cloudwatch_event_rule", "arn")}},
        }
    ]
    assert stack["output"]["rule_arn"] == {"value": ref(stack, "aws_cloudwatch_event_rule", "arn")}
    assert stack["output"]["dead_letter_queue_url"] == {"value": f"${{aws_sqs_queue.{dlq_id}.url}}"}


def test_unmanaged_sqs_consumer_gets_the_retry_settings_of_its_file(synthesized: dict[str, Synthesized]) -> None:
    _, stack = consumer(synthesized, "consumer-sqs-unmanaged")
    assert one(stack, "aws_cloudwatch_event_target")["retry_policy"] == {
        "maximum_retry_attempts": 3,
        "maximum_event_age_in_seconds": 600,
    }


def test_lambda_consumer_invokes_the_function_with_a_permission_for_this_rule_only(
    synthesized: dict[str, Synthesized],
) -> None:
    deployment, stack = consumer(synthesized, "consumer-lambda")
    function_arn = "arn:aws:lambda:eu-west-1:111122223333:function:bill-order"
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["arn"] == function_arn
    assert "role_arn" not in target
    assert one(stack, "aws_lambda_permission") == {
        "statement_id": NAMES.consumer(deployment.subscription_id).rule,
        "action": "lambda:InvokeFunction",
        "function_name": function_arn,
        "principal": "events.amazonaws.com",
        "source_arn": ref(stack, "aws_cloudwatch_event_rule", "arn"),
    }
    assert post_apply_hints(deployment, RUNTIME).instructions is None


def test_cross_account_lambda_consumer_leaves_the_permission_to_its_owner(synthesized: dict[str, Synthesized]) -> None:
    deployment, stack = consumer(synthesized, "consumer-lambda-cross-account")
    function_arn = f"arn:aws:lambda:{REGION}:{OTHER_ACCOUNT}:function:bill-order"
    assert one(stack, "aws_cloudwatch_event_target")["arn"] == function_arn
    assert "aws_lambda_permission" not in stack["resource"]
    hints = post_apply_hints(deployment, RUNTIME)
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/dev.custom.events.bus/dev-sub-00000000000000b2"
    assert hints.lambda_permission_instructions is not None
    assert hints.lambda_permission_instructions.endswith(
        f"aws lambda add-permission --function-name {function_arn} --statement-id dev-sub-00000000000000b2 "
        f"--action lambda:InvokeFunction --principal events.amazonaws.com --source-arn {rule_arn}"
    )
    assert hints.instructions == hints.lambda_permission_instructions


def test_sqs_consumer_owns_the_policy_of_a_queue_in_the_broker_account(synthesized: dict[str, Synthesized]) -> None:
    _, stack = consumer(synthesized, "consumer-sqs")
    queue_arn = "arn:aws:sqs:eu-west-1:111122223333:warehouse-orders"
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["arn"] == queue_arn
    assert "sqs_target" not in target
    (data_id,) = stack["data"]["aws_sqs_queue"]
    assert stack["data"]["aws_sqs_queue"][data_id] == {"name": "warehouse-orders"}
    assert policy_for(stack, f"${{data.aws_sqs_queue.{data_id}.url}}") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DevSub00000000000000a2",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": ref(stack, "aws_cloudwatch_event_rule", "arn")}},
            }
        ],
    }


@pytest.mark.parametrize(
    ("name", "queue_arn"),
    [
        ("consumer-sqs-unmanaged", f"arn:aws:sqs:{REGION}:{ACCOUNT}:shared-orders"),
        ("consumer-sqs-cross-account", f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:warehouse-orders"),
    ],
)
def test_sqs_consumer_without_policy_tells_the_owner_the_exact_statement(
    synthesized: dict[str, Synthesized], name: str, queue_arn: str
) -> None:
    deployment, stack = consumer(synthesized, name)
    assert one(stack, "aws_cloudwatch_event_target")["arn"] == queue_arn
    assert "data" not in stack
    # only the DLQ's policy: the consumer's queue is not ours to change
    (policy,) = resources_of(stack, "aws_sqs_queue_policy")
    assert policy["queue_url"] == f"${{aws_sqs_queue.{dlq_of(stack, deployment)[0]}.url}}"
    hints = post_apply_hints(deployment, RUNTIME)
    assert hints.queue_policy_instructions is not None
    rule = NAMES.consumer(deployment.subscription_id).rule
    statement = json.loads(hints.queue_policy_instructions.split("\n", 1)[1])
    assert statement == {
        "Sid": "".join(part.capitalize() for part in rule.split("-")),
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {
            "ArnEquals": {"aws:SourceArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/dev.custom.events.bus/{rule}"}
        },
    }
    assert hints.instructions == hints.queue_policy_instructions


def test_fifo_queue_consumer_sends_one_message_group_per_event_version(synthesized: dict[str, Synthesized]) -> None:
    _, stack = consumer(synthesized, "consumer-sqs-fifo")
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["sqs_target"] == {"message_group_id": "order-created.1"}
    assert stack["data"]["aws_sqs_queue"][next(iter(stack["data"]["aws_sqs_queue"]))] == {
        "name": "warehouse-orders.fifo"
    }


@pytest.mark.parametrize(
    ("name", "authorization_type", "auth_parameters", "ignored"),
    [
        (
            "consumer-https",
            "API_KEY",
            {"api_key": {"key": "x-api-key", "value": "placeholder-set-by-broker-generator"}},
            True,
        ),
        (
            "consumer-https-basic",
            "BASIC",
            {
                "basic": {
                    "username": "placeholder-set-by-broker-generator",
                    "password": "placeholder-set-by-broker-generator",
                }
            },
            True,
        ),
        (
            "consumer-https-oauth",
            "OAUTH_CLIENT_CREDENTIALS",
            {
                "oauth": {
                    "authorization_endpoint": "https://login.example.com/oauth2/token",
                    "http_method": "POST",
                    "client_parameters": {
                        "client_id": "placeholder-set-by-broker-generator",
                        "client_secret": "placeholder-set-by-broker-generator",
                    },
                    "oauth_http_parameters": {
                        "body": [
                            {"key": "grant_type", "value": "client_credentials", "is_value_secret": False},
                            {"key": "scope", "value": "events.write crm", "is_value_secret": False},
                        ]
                    },
                }
            },
            True,
        ),
        ("consumer-https-noauth", "API_KEY", {"api_key": {"key": "x-event-broker", "value": "no-auth"}}, False),
    ],
)
def test_https_connection_holds_placeholders_never_secrets(
    synthesized: dict[str, Synthesized],
    name: str,
    authorization_type: str,
    auth_parameters: dict[str, Any],
    ignored: bool,
) -> None:
    deployment, stack = consumer(synthesized, name)
    names = NAMES.consumer(deployment.subscription_id)
    connection = one(stack, "aws_cloudwatch_event_connection")
    assert connection["name"] == names.connection
    assert connection["authorization_type"] == authorization_type
    assert connection["auth_parameters"] == auth_parameters
    if ignored:
        assert connection["lifecycle"] == {"ignore_changes": ["auth_parameters"]}
    else:
        assert "lifecycle" not in connection
    # the whole file: the stack never even names the secret, let alone reads it (a secretsmanager data
    # source would copy the value into the state); the only credentials are the placeholders above
    synthesized_text = json.dumps(stack)
    for secret_arn in (BASIC_SECRET, OAUTH_SECRET, "crm-hook-key-AbCdEf"):
        assert secret_arn.rsplit(":", 1)[-1] not in synthesized_text
    assert "secretsmanager" not in synthesized_text
    assert "secret_arn" not in synthesized_text
    assert synthesized_text.count("placeholder-set-by-broker-generator") == json.dumps(auth_parameters).count(
        "placeholder-set-by-broker-generator"
    )
    hints = post_apply_hints(deployment, RUNTIME)
    if ignored:
        assert hints.connection_name == names.connection
        assert hints.auth == deployment.consumer.auth  # type: ignore[union-attr]
    else:
        assert (hints.connection_name, hints.auth) == (None, None)


@pytest.mark.parametrize(("name", "rate"), [("consumer-https", 10), ("consumer-https-basic", 3)])
def test_https_consumer_delivers_through_a_rate_limited_api_destination(
    synthesized: dict[str, Synthesized], name: str, rate: int
) -> None:
    deployment, stack = consumer(synthesized, name)
    names = NAMES.consumer(deployment.subscription_id)
    destination = one(stack, "aws_cloudwatch_event_api_destination")
    assert destination == {
        "name": names.api_destination,
        "description": f"Endpoint of {names.rule}",
        "connection_arn": ref(stack, "aws_cloudwatch_event_connection", "arn"),
        "http_method": "POST",
        "invocation_endpoint": str(deployment.consumer.connection_string),
        "invocation_rate_limit_per_second": rate,
    }
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["arn"] == ref(stack, "aws_cloudwatch_event_api_destination", "arn")
    assert target["role_arn"] == ref(stack, "aws_iam_role", "arn")
    role = one(stack, "aws_iam_role")
    assert role["name"] == names.target_role
    assert json.loads(role["assume_role_policy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ]
    policy = one(stack, "aws_iam_role_policy")
    assert policy["role"] == ref(stack, "aws_iam_role", "id")
    assert json.loads(policy["policy"])["Statement"] == [
        {
            "Sid": "InvokeApiDestination",
            "Effect": "Allow",
            "Action": "events:InvokeApiDestination",
            "Resource": ref(stack, "aws_cloudwatch_event_api_destination", "arn"),
        }
    ]
    assert stack["output"]["api_destination_arn"] == {
        "value": ref(stack, "aws_cloudwatch_event_api_destination", "arn")
    }


def test_local_mode_consumer_keeps_its_resources(synthesized: dict[str, Synthesized]) -> None:
    local = synthesized["local-consumer-sqs"].json
    assert local["resource"] == synthesized["consumer-sqs"].json["resource"]
    assert local["provider"]["aws"][0]["endpoints"][0]["events"] == "http://127.0.0.1:5000"
    assert local["terraform"]["backend"]["s3"]["endpoints"]["s3"] == "http://127.0.0.1:5000"
