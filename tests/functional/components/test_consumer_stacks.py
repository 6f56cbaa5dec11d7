"""Consumer stacks as synthesized: rule, target, DLQ, and each delivery kind's permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker_contract.models import ConsumerDeployment, DeploymentAction, HttpsConsumer
from component_stacks.dispatch import component_hooks
from component_stacks.hooks import SharedQueueStatement
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
    needs_secret = isinstance(deployment.consumer, HttpsConsumer) and deployment.consumer.auth is not None
    assert rule["state"] == ("DISABLED" if needs_secret else "ENABLED")
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
    assert component_hooks(deployment, RUNTIME).instructions is None


BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/dev-event-broker-component-boundary"


@pytest.mark.parametrize(
    ("name", "target_arn", "statements"),
    [
        (
            "consumer-lambda-cross-account",
            f"arn:aws:lambda:{REGION}:{OTHER_ACCOUNT}:function:bill-order",
            [
                {
                    "Sid": "InvokeTargetFunction",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": f"arn:aws:lambda:{REGION}:{OTHER_ACCOUNT}:function:bill-order",
                }
            ],
        ),
        (
            "consumer-sqs-cross-account",
            f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:warehouse-orders",
            [
                {
                    "Sid": "SendToTargetQueue",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:warehouse-orders",
                },
                {
                    "Sid": "UseTargetQueueKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": f"arn:aws:kms:{REGION}:{OTHER_ACCOUNT}:key/*",
                    "Condition": {"StringEquals": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}},
                },
            ],
        ),
    ],
)
def test_cross_account_target_is_reached_through_a_delivery_role_of_its_own(
    synthesized: dict[str, Synthesized], name: str, target_arn: str, statements: list[dict[str, Any]]
) -> None:
    deployment, stack = consumer(synthesized, name)
    names = NAMES.consumer(deployment.subscription_id)
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["arn"] == target_arn
    # AWS delivers to a function or queue of another account only through a role of the bus account
    assert target["role_arn"] == ref(stack, "aws_iam_role", "arn")
    role = one(stack, "aws_iam_role")
    assert role["name"] == names.delivery_role == f"dev-eb-{deployment.subscription_id}-delivery"
    assert role["permissions_boundary"] == BOUNDARY
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
    assert json.loads(policy["policy"])["Statement"] == statements
    assert stack["output"]["delivery_role_arn"] == {"value": ref(stack, "aws_iam_role", "arn")}
    # the broker cannot change another account's function or queue: no permission, no policy of the target
    assert "aws_lambda_permission" not in stack["resource"]
    assert [p["queue_url"] for p in resources_of(stack, "aws_sqs_queue_policy")] == [
        f"${{aws_sqs_queue.{dlq_of(stack, deployment)[0]}.url}}"
    ]


def test_cross_account_lambda_instructions_grant_exactly_the_delivery_role(
    synthesized: dict[str, Synthesized],
) -> None:
    deployment, _ = consumer(synthesized, "consumer-lambda-cross-account")
    function_arn = f"arn:aws:lambda:{REGION}:{OTHER_ACCOUNT}:function:bill-order"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/dev-eb-sub-00000000000000b2-delivery"
    hints = component_hooks(deployment, RUNTIME)
    assert hints.instructions is not None
    assert hints.instructions.endswith(
        f"aws lambda add-permission --function-name {function_arn} --statement-id dev-sub-00000000000000b2 "
        f"--action lambda:InvokeFunction --principal {role_arn}"
    )
    assert "events.amazonaws.com" not in hints.instructions


def test_cross_account_queue_instructions_grant_exactly_the_delivery_role(
    synthesized: dict[str, Synthesized],
) -> None:
    deployment, _ = consumer(synthesized, "consumer-sqs-cross-account")
    queue_arn = f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:warehouse-orders"
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/dev-eb-sub-00000000000000b4-delivery"
    hints = component_hooks(deployment, RUNTIME)
    assert hints.instructions is not None
    text, statement = hints.instructions.split("\n", 1)
    assert json.loads(statement) == {
        "Sid": "DevSub00000000000000b4",
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
    }
    # how the queue is encrypted cannot be seen from the broker's account: the owner is told what works
    assert "alias/aws/sqs" in text
    assert f"key policy must allow {role_arn} kms:GenerateDataKey and kms:Decrypt" in text
    assert hints.check_queue_encryption is None
    assert hints.shared_queue_policy is None


@pytest.mark.parametrize("name", ["consumer-sqs", "consumer-sqs-fifo"])
def test_sqs_consumer_stack_never_owns_the_policy_of_the_target_queue(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    deployment, stack = consumer(synthesized, name)
    queue_arn = deployment.consumer.connection_string  # type: ignore[union-attr]
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["arn"] == queue_arn
    assert "role_arn" not in target
    # aws_sqs_queue_policy replaces a queue's whole policy: a stack owning it would overwrite the statements
    # of every other subscription to the queue, and its destroy would remove them all
    assert [p["queue_url"] for p in resources_of(stack, "aws_sqs_queue_policy")] == [
        f"${{aws_sqs_queue.{dlq_of(stack, deployment)[0]}.url}}"
    ]
    assert "data" not in stack
    assert "aws_iam_role" not in stack["resource"]


def test_managed_queue_gets_one_broker_statement_shared_by_every_subscription(
    synthesized: dict[str, Synthesized],
) -> None:
    deployment, _ = consumer(synthesized, "consumer-sqs")
    queue_arn = "arn:aws:sqs:eu-west-1:111122223333:warehouse-orders"
    # every subscription rule of the broker: one statement per queue, within SQS's 20 statements and 8 KB
    rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/dev.custom.events.bus/dev-sub-*"
    statement = {
        "Sid": "DevEventBrokerDeliveries",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": rule_arn}},
    }
    hints = component_hooks(deployment, RUNTIME)
    assert hints.shared_queue_policy == SharedQueueStatement(queue_arn, statement, "dev-sub-")
    assert hints.check_queue_encryption == queue_arn
    assert hints.instructions is None
    # another subscription on the same queue needs exactly the same statement: nothing to overwrite
    other = synthesized["consumer-sqs-fifo"].deployment.model_copy(
        update={"consumer": deployment.consumer, "subscription_id": "sub-00000000000000ff"}
    )
    assert component_hooks(other, RUNTIME).shared_queue_policy == hints.shared_queue_policy
    destroy = component_hooks(deployment.model_copy(update={"action": DeploymentAction.DESTROY}), RUNTIME)
    # after a destroy the generator removes the statement only if no broker rule targets the queue any more
    assert destroy.shared_queue_policy == hints.shared_queue_policy
    assert destroy.check_queue_encryption is None


def test_unmanaged_queue_of_the_broker_account_tells_the_owner_the_exact_statement(
    synthesized: dict[str, Synthesized],
) -> None:
    deployment, stack = consumer(synthesized, "consumer-sqs-unmanaged")
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:shared-orders"
    assert one(stack, "aws_cloudwatch_event_target")["arn"] == queue_arn
    assert "data" not in stack
    hints = component_hooks(deployment, RUNTIME)
    assert hints.instructions is not None
    assert hints.shared_queue_policy is None
    # same account: the generator still checks the queue's encryption before apply
    assert hints.check_queue_encryption == queue_arn
    rule = NAMES.consumer(deployment.subscription_id).rule
    statement = json.loads(hints.instructions.split("\n", 1)[1])
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


def test_fifo_queue_consumer_sends_one_message_group_per_event_version(synthesized: dict[str, Synthesized]) -> None:
    _, stack = consumer(synthesized, "consumer-sqs-fifo")
    target = one(stack, "aws_cloudwatch_event_target")
    assert target["sqs_target"] == {"message_group_id": "order-created.1"}


@pytest.mark.parametrize("name", ["consumer-https", "consumer-https-basic", "consumer-https-oauth"])
def test_https_consumer_with_a_secret_starts_disabled_until_the_generator_enables_it(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    deployment, stack = consumer(synthesized, name)
    rule = one(stack, "aws_cloudwatch_event_rule")
    # the connection holds placeholders until the secret is copied: nothing may be sent with them
    assert rule["state"] == "DISABLED"
    # once the generator has enabled it, a later apply must not disable it again
    assert rule["lifecycle"] == {"ignore_changes": ["state", "is_enabled"]}
    hints = component_hooks(deployment, RUNTIME)
    assert hints.rule_to_enable == rule["name"] == NAMES.consumer(deployment.subscription_id).rule
    assert hints.connection_name is not None
    destroy = component_hooks(deployment.model_copy(update={"action": DeploymentAction.DESTROY}), RUNTIME)
    assert destroy.rule_to_enable is None


def test_https_consumer_without_a_secret_is_live_at_once(synthesized: dict[str, Synthesized]) -> None:
    deployment, stack = consumer(synthesized, "consumer-https-noauth")
    rule = one(stack, "aws_cloudwatch_event_rule")
    assert rule["state"] == "ENABLED"
    assert "lifecycle" not in rule
    assert component_hooks(deployment, RUNTIME).rule_to_enable is None


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
    hints = component_hooks(deployment, RUNTIME)
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
    assert role["permissions_boundary"] == BOUNDARY
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
