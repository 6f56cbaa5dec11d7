"""Producer stacks as synthesized: exact names, wiring and permissions."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest

from component_stacks.dispatch import component_hooks
from modules.shared.embedded import SERVICES
from tests.functional.components.conftest import (
    ACCOUNT,
    LOCAL_ENDPOINT,
    NAMES,
    OTHER_ACCOUNT,
    REGION,
    RUNTIME,
    Synthesized,
    one,
    ref,
    resources_of,
)

pytestmark = pytest.mark.xdist_group("components")

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/dev-event-broker-component-boundary"

ORDER_V1 = NAMES.producer("order-created", 1)
ORDER_V2 = NAMES.producer("order-created", 2)
PAYMENT_V2 = NAMES.producer("payment-settled", 2)


@pytest.mark.parametrize(
    ("name", "names"),
    [("producer-https", ORDER_V1), ("producer-https-iam", ORDER_V2), ("producer-sqs", PAYMENT_V2)],
)
def test_stack_id_backend_and_provider(synthesized: dict[str, Synthesized], name: str, names: object) -> None:
    built = synthesized[name]
    assert built.stack_id == names.stack  # type: ignore[attr-defined]
    assert built.json["terraform"]["backend"] == {
        "s3": {
            "bucket": NAMES.state_bucket,
            "key": names.state_key,  # type: ignore[attr-defined]
            "region": REGION,
            "encrypt": True,
            "use_lockfile": True,
        }
    }
    assert built.json["provider"]["aws"] == [
        {
            "region": REGION,
            "default_tags": [
                {
                    "tags": {
                        "environment": "dev",
                        "component": names.component_id,  # type: ignore[attr-defined]
                        "managed-by": "event-broker",
                    }
                }
            ],
        }
    ]


def test_https_producer_resource_hangs_under_the_shared_event_type_path(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["producer-https"].json
    assert stack["data"]["aws_api_gateway_resource"] == {
        next(iter(stack["data"]["aws_api_gateway_resource"])): {"path": "/order-created", "rest_api_id": "a1b2c3d4e5"}
    }
    (parent_id,) = stack["data"]["aws_api_gateway_resource"]
    assert one(stack, "aws_api_gateway_resource") == {
        "rest_api_id": "a1b2c3d4e5",
        "parent_id": f"${{data.aws_api_gateway_resource.{parent_id}.id}}",
        "path_part": "1",
    }
    # the shared stage is redeployed by the generator, never by a component stack
    assert "aws_api_gateway_deployment" not in stack["resource"]
    assert "aws_api_gateway_stage" not in stack["resource"]
    assert "aws_lambda_function" not in stack["resource"]


def test_https_producer_validates_the_envelope(synthesized: dict[str, Synthesized]) -> None:
    built = synthesized["producer-https"]
    stack = built.json
    model = one(stack, "aws_api_gateway_model")
    assert model["name"] == ORDER_V1.request_model == "OrderCreatedV1Envelope"
    assert model["content_type"] == "application/json"
    assert model["rest_api_id"] == "a1b2c3d4e5"
    assert json.loads(model["schema"]) == built.deployment.envelope_schema  # type: ignore[union-attr]
    assert json.loads(model["schema"])["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert one(stack, "aws_api_gateway_request_validator") == {
        "name": ORDER_V1.request_validator,
        "rest_api_id": "a1b2c3d4e5",
        "validate_request_body": True,
        "validate_request_parameters": False,
    }
    assert one(stack, "aws_api_gateway_method") == {
        "rest_api_id": "a1b2c3d4e5",
        "resource_id": ref(stack, "aws_api_gateway_resource", "id"),
        "http_method": "POST",
        "authorization": "AWS_IAM",
        "api_key_required": True,
        "request_models": {"application/json": ref(stack, "aws_api_gateway_model", "name")},
        "request_validator_id": ref(stack, "aws_api_gateway_request_validator", "id"),
    }


def test_https_producer_integrates_directly_with_put_events(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["producer-https"].json
    integration = dict(one(stack, "aws_api_gateway_integration"))  # a copy: the synthesized JSON is shared
    template = integration.pop("request_templates")["application/json"]
    assert integration == {
        "rest_api_id": "a1b2c3d4e5",
        "resource_id": ref(stack, "aws_api_gateway_resource", "id"),
        "http_method": ref(stack, "aws_api_gateway_method", "http_method"),
        "type": "AWS",
        "integration_http_method": "POST",
        "uri": f"arn:aws:apigateway:{REGION}:events:action/PutEvents",
        "credentials": RUNTIME.apigateway_events_role_arn,
        "passthrough_behavior": "NEVER",
        "request_parameters": {
            "integration.request.header.X-Amz-Target": "'AWSEvents.PutEvents'",
            "integration.request.header.Content-Type": "'application/x-amz-json-1.1'",
        },
    }
    assert template == (
        "{\n"
        '  "Entries": [\n'
        "    {\n"
        '      "EventBusName": "dev.custom.events.bus",\n'
        '      "Source": "shop",\n'
        '      "DetailType": "order-created.1",\n'
        """      "Detail": "$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'","'")"\n"""
        "    }\n"
        "  ]\n"
        "}"
    )


def test_https_producer_answers_event_id_or_a_clear_error(synthesized: dict[str, Synthesized]) -> None:
    """The wiring of the responses; what each template answers is in test_producer_mapping."""
    stack = synthesized["producer-https"].json
    method_responses = {body["status_code"]: body for body in resources_of(stack, "aws_api_gateway_method_response")}
    assert sorted(method_responses) == ["200", "400", "429", "500"]
    assert all(body["response_models"] == {"application/json": "Empty"} for body in method_responses.values())
    integration_responses = resources_of(stack, "aws_api_gateway_integration_response")
    by_pattern = {body.get("selection_pattern"): body for body in integration_responses}
    assert set(by_pattern) == {None, "400", r"(40[1-9]|4[1-9]\d|5\d{2})"}
    assert {pattern: method_responses_status(stack, body["status_code"]) for pattern, body in by_pattern.items()} == {
        None: "200",
        "400": "400",
        r"(40[1-9]|4[1-9]\d|5\d{2})": "500",
    }
    (integration_id,) = stack["resource"]["aws_api_gateway_integration"]
    for body in integration_responses:
        assert body["depends_on"] == [f"aws_api_gateway_integration.{integration_id}"]


def method_responses_status(stack: dict[str, Any], status_ref: str) -> str:
    """The status code of the method response an integration response refers to."""
    method_response_id = status_ref.split(".")[1]
    status: str = stack["resource"]["aws_api_gateway_method_response"][method_response_id]["status_code"]
    return status


@pytest.mark.parametrize(
    ("bus_status", "producer_status"),
    [("200", "200"), ("400", "400"), ("403", "500"), ("429", "500"), ("500", "500"), ("503", "500")],
)
def test_bus_status_codes_map_to_exactly_one_response(
    synthesized: dict[str, Synthesized], bus_status: str, producer_status: str
) -> None:
    """API Gateway matches selection patterns against the whole backend status; overlaps would be ambiguous."""
    stack = synthesized["producer-https"].json
    patterns = {
        body["selection_pattern"]: body["status_code"]
        for body in resources_of(stack, "aws_api_gateway_integration_response")
        if "selection_pattern" in body
    }
    matching = [pattern for pattern in patterns if re.fullmatch(pattern, bus_status)]
    if producer_status == "200":
        assert matching == []  # the default response, which turns FailedEntryCount > 0 into a 500
    else:
        assert len(matching) == 1
        status_ref = patterns[matching[0]]
        method_response_id = status_ref.split(".")[1]
        assert (
            stack["resource"]["aws_api_gateway_method_response"][method_response_id]["status_code"] == producer_status
        )


def test_api_key_producer_gets_its_own_usage_plan_and_key(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["producer-https"].json
    assert one(stack, "aws_api_gateway_usage_plan") == {
        "name": ORDER_V1.usage_plan,
        "description": "Producer of order-created.1",
        "api_stages": [{"api_id": "a1b2c3d4e5", "stage": "dev"}],
        "throttle_settings": {"rate_limit": 50, "burst_limit": 100},
    }
    assert one(stack, "aws_api_gateway_api_key") == {
        "name": ORDER_V1.api_key,
        "description": "Producer of order-created.1",
        "enabled": True,
    }
    assert one(stack, "aws_api_gateway_usage_plan_key") == {
        "key_id": ref(stack, "aws_api_gateway_api_key", "id"),
        "key_type": "API_KEY",
        "usage_plan_id": ref(stack, "aws_api_gateway_usage_plan", "id"),
    }
    assert stack["output"] == {
        "endpoint_path": {"value": "/order-created/1"},
        "endpoint_url": {"value": "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/order-created/1"},
        "api_key_id": {"value": ref(stack, "aws_api_gateway_api_key", "id")},
        "publisher_role_arn": {"value": ref(stack, "aws_iam_role", "arn")},
    }


def test_iam_producer_signs_requests_and_has_no_api_key(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["producer-https-iam"].json
    method = one(stack, "aws_api_gateway_method")
    assert (method["authorization"], method["api_key_required"]) == ("AWS_IAM", False)
    assert one(stack, "aws_api_gateway_resource")["path_part"] == "2"
    assert one(stack, "aws_api_gateway_model")["name"] == "OrderCreatedV2Envelope"
    for absent in ("aws_api_gateway_usage_plan", "aws_api_gateway_api_key", "aws_api_gateway_usage_plan_key"):
        assert absent not in stack["resource"]
    assert (
        '"DetailType": "order-created.2"'
        in one(stack, "aws_api_gateway_integration")["request_templates"]["application/json"]
    )
    assert "api_key_id" not in stack["output"]
    assert stack["output"]["publisher_role_arn"] == {"value": ref(stack, "aws_iam_role", "arn")}


def test_sqs_producer_queue_pair(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["producer-sqs"].json
    queues = {body["name"]: body for body in resources_of(stack, "aws_sqs_queue")}
    assert set(queues) == {PAYMENT_V2.queue, PAYMENT_V2.dead_letter_queue}
    queue = queues[PAYMENT_V2.queue]
    dlq_id = next(k for k, v in stack["resource"]["aws_sqs_queue"].items() if v["name"] == PAYMENT_V2.dead_letter_queue)
    assert json.loads(queue["redrive_policy"]) == {
        "deadLetterTargetArn": f"${{aws_sqs_queue.{dlq_id}.arn}}",
        "maxReceiveCount": 5,
    }
    assert queue["sqs_managed_sse_enabled"] is True
    assert queues[PAYMENT_V2.dead_letter_queue]["sqs_managed_sse_enabled"] is True
    queue_id = next(k for k, v in stack["resource"]["aws_sqs_queue"].items() if v["name"] == PAYMENT_V2.queue)
    assert stack["output"] == {
        "queue_url": {"value": f"${{aws_sqs_queue.{queue_id}.url}}"},
        "queue_arn": {"value": f"${{aws_sqs_queue.{queue_id}.arn}}"},
        "dead_letter_queue_url": {"value": f"${{aws_sqs_queue.{dlq_id}.url}}"},
    }


def test_sqs_producer_pipe_puts_the_body_on_the_bus(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["producer-sqs"].json
    queue_id = next(k for k, v in stack["resource"]["aws_sqs_queue"].items() if v["name"] == PAYMENT_V2.queue)
    assert one(stack, "aws_pipes_pipe") == {
        "name": PAYMENT_V2.pipe,
        "description": "Producer queue of payment-settled.2 to the event bus",
        "role_arn": ref(stack, "aws_iam_role", "arn"),
        "source": f"${{aws_sqs_queue.{queue_id}.arn}}",
        "source_parameters": {"sqs_queue_parameters": {"batch_size": 10}},
        "target": RUNTIME.event_bus_arn,
        "target_parameters": {
            "input_template": "<$.body>",
            "eventbridge_event_bus_parameters": {"detail_type": "payment-settled.2", "source": "payments"},
        },
        "depends_on": [f"aws_iam_role_policy.{next(iter(stack['resource']['aws_iam_role_policy']))}"],
    }


def test_sqs_producer_pipe_role_is_least_privilege(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["producer-sqs"].json
    role = one(stack, "aws_iam_role")
    assert role["name"] == PAYMENT_V2.pipe_role == "dev-eb-pipe-payment-settled-v2"
    assert role["permissions_boundary"] == BOUNDARY
    assert json.loads(role["assume_role_policy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pipes.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ]
    queue_id = next(k for k, v in stack["resource"]["aws_sqs_queue"].items() if v["name"] == PAYMENT_V2.queue)
    policy = one(stack, "aws_iam_role_policy")
    assert policy["role"] == ref(stack, "aws_iam_role", "id")
    assert json.loads(policy["policy"])["Statement"] == [
        {
            "Sid": "ReadProducerQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": f"${{aws_sqs_queue.{queue_id}.arn}}",
        },
        {"Sid": "PutOnBus", "Effect": "Allow", "Action": "events:PutEvents", "Resource": RUNTIME.event_bus_arn},
    ]


@pytest.mark.parametrize(
    ("name", "accounts"),
    [("producer-sqs", [ACCOUNT]), ("producer-sqs-cross-account", [ACCOUNT, OTHER_ACCOUNT])],
)
def test_sqs_producer_queue_lets_the_producer_accounts_send(
    synthesized: dict[str, Synthesized], name: str, accounts: list[str]
) -> None:
    built = synthesized[name]
    stack = built.json
    names = NAMES.producer(built.deployment.event.event_type, built.deployment.event.version)
    queue_id = next(k for k, v in stack["resource"]["aws_sqs_queue"].items() if v["name"] == names.queue)
    policy = one(stack, "aws_sqs_queue_policy")
    assert policy["queue_url"] == f"${{aws_sqs_queue.{queue_id}.url}}"
    queue_arn = f"${{aws_sqs_queue.{queue_id}.arn}}"
    assert json.loads(policy["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ProducerAccountsSend",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in accounts]},
                "Action": ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"],
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
    instructions = component_hooks(built.deployment, RUNTIME).instructions
    assert instructions is not None
    assert f"queue {names.queue}" in instructions
    assert f"account(s) {', '.join(accounts)}" in instructions


HTTPS_PRODUCERS = {
    "producer-https": (ORDER_V1, [ACCOUNT]),
    "producer-https-iam": (ORDER_V2, [ACCOUNT, OTHER_ACCOUNT]),
    "producer-https-template-text": (NAMES.producer("order-created", 3), [ACCOUNT]),
}


def method_arn_of(names: Any) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:a1b2c3d4e5/dev/POST{names.endpoint_path}"


@pytest.mark.parametrize("name", sorted(HTTPS_PRODUCERS))
def test_each_https_producer_gets_a_publisher_role_for_its_own_method(
    synthesized: dict[str, Synthesized], name: str
) -> None:
    stack = synthesized[name].json
    names, accounts = HTTPS_PRODUCERS[name]
    # a signature is always required: an API key alone never opens a method
    assert one(stack, "aws_api_gateway_method")["authorization"] == "AWS_IAM"
    role = one(stack, "aws_iam_role")
    assert role["name"] == names.publisher_role
    assert role["permissions_boundary"] == BOUNDARY
    principals = [f"arn:aws:iam::{account}:root" for account in accounts]
    assert json.loads(role["assume_role_policy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": principals[0] if len(principals) == 1 else principals},
            "Action": "sts:AssumeRole",
        }
    ]
    policy = one(stack, "aws_iam_role_policy")
    assert policy["role"] == ref(stack, "aws_iam_role", "id")
    assert json.loads(policy["policy"])["Statement"] == [
        {
            "Sid": "PublishOneEventVersion",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": method_arn_of(names),
        }
    ]
    instructions = component_hooks(synthesized[name].deployment, RUNTIME).instructions
    assert instructions is not None
    assert f"role arn:aws:iam::{ACCOUNT}:role/{names.publisher_role}" in instructions
    assert f"POST {RUNTIME.producer_api_url}{names.endpoint_path}" in instructions


def _invoke_allowed(statements: list[dict[str, Any]], method_arn: str) -> bool:
    """IAM's reading of an identity policy for ``execute-api:Invoke`` on ``method_arn`` (wildcards included)."""

    def listed(value: str | list[str]) -> list[str]:
        return [value] if isinstance(value, str) else value

    def matches(statement: dict[str, Any]) -> bool:
        return any(fnmatchcase("execute-api:Invoke", a) for a in listed(statement["Action"])) and any(
            fnmatchcase(method_arn, r) for r in listed(statement["Resource"])
        )

    allowed = any(s["Effect"] == "Allow" and matches(s) for s in statements)
    return allowed and not any(s["Effect"] == "Deny" and matches(s) for s in statements)


def test_a_producer_credential_publishes_its_own_event_version_and_no_other(
    synthesized: dict[str, Synthesized],
) -> None:
    policies = {
        name: json.loads(one(synthesized[name].json, "aws_iam_role_policy")["policy"])["Statement"]
        for name in HTTPS_PRODUCERS
    }
    other_methods = [method_arn_of(NAMES.producer("payment-settled", 2)), method_arn_of(NAMES.producer("x", 10))]
    for name, statements in policies.items():
        for other, (names, _) in HTTPS_PRODUCERS.items():
            assert _invoke_allowed(statements, method_arn_of(names)) is (other == name), (name, other)
        for method in other_methods:
            assert not _invoke_allowed(statements, method)


def test_local_mode_points_provider_and_backend_at_moto(synthesized: dict[str, Synthesized]) -> None:
    stack = synthesized["local-producer-https"].json
    (provider,) = stack["provider"]["aws"]
    # one list of services for every local stack (modules.shared.embedded), those of the component stacks among them
    assert provider["endpoints"] == [dict.fromkeys(SERVICES, LOCAL_ENDPOINT)]
    assert {"apigateway", "events", "iam", "lambda", "pipes", "sqs", "sts"} <= set(SERVICES)
    assert provider["skip_credentials_validation"] is True
    assert provider["skip_requesting_account_id"] is True
    assert provider["skip_metadata_api_check"] == "true"
    assert provider["s3_use_path_style"] is True
    backend = stack["terraform"]["backend"]["s3"]
    assert backend["endpoints"] == dict.fromkeys(("s3", "sts", "iam"), LOCAL_ENDPOINT)
    assert backend["key"] == ORDER_V1.state_key
    for setting in (
        "use_path_style",
        "skip_credentials_validation",
        "skip_requesting_account_id",
        "skip_metadata_api_check",
        "skip_region_validation",
    ):
        assert backend[setting] is True
    # local mode changes where the stack talks to, never what it creates
    assert stack["resource"] == synthesized["producer-https"].json["resource"]
