"""User text reaches AWS as written: Terraform never evaluates it as a template (``${...}``, ``%{...}``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from broker_contract.models import ConsumerDeployment, HttpsConsumer, OAuthClientCredentials, ProducerDeployment
from modules.consumers.pattern import consumer_event_pattern
from modules.shared.terraform import terraform_literal
from tests.functional.components.conftest import TEMPLATE_TEXT, Synthesized, one, terraform_template_text

pytestmark = pytest.mark.xdist_group("components")


@pytest.mark.parametrize("text", [TEMPLATE_TEXT, "${", "%{", "$${", "%%{", "$$${", "$", "%", "{}", "", "plain"])
def test_terraform_literal_is_read_back_as_written(text: str) -> None:
    assert terraform_template_text(terraform_literal(text)) == text


def test_unescaped_template_text_would_be_evaluated() -> None:
    """The model of Terraform's reading refuses what Terraform would evaluate, so the tests below can fail."""
    with pytest.raises(AssertionError, match="Terraform would evaluate"):
        terraform_template_text(TEMPLATE_TEXT)


def test_the_envelope_schema_reaches_the_model_as_written(synthesized: dict[str, Synthesized]) -> None:
    built = synthesized["producer-https-template-text"]
    assert isinstance(built.deployment, ProducerDeployment)
    schema = one(built.json, "aws_api_gateway_model")["schema"]
    assert json.loads(terraform_template_text(schema)) == built.deployment.envelope_schema
    assert built.deployment.envelope_schema["description"] == TEMPLATE_TEXT


def test_filter_url_and_scopes_reach_eventbridge_as_written(synthesized: dict[str, Synthesized]) -> None:
    built = synthesized["consumer-https-template-text"]
    deployment = built.deployment
    assert isinstance(deployment, ConsumerDeployment)
    assert isinstance(deployment.consumer, HttpsConsumer)
    auth = deployment.consumer.auth
    assert isinstance(auth, OAuthClientCredentials)
    rule = one(built.json, "aws_cloudwatch_event_rule")
    assert json.loads(terraform_template_text(rule["event_pattern"])) == consumer_event_pattern(deployment)
    destination = one(built.json, "aws_cloudwatch_event_api_destination")
    assert terraform_template_text(destination["invocation_endpoint"]) == (
        "https://crm.example.com/hooks/x?tag=%{b}&v=${c}"
    )
    oauth = one(built.json, "aws_cloudwatch_event_connection")["auth_parameters"]["oauth"]
    assert terraform_template_text(oauth["authorization_endpoint"]) == str(auth.token_url)
    assert [terraform_template_text(item["value"]) for item in oauth["oauth_http_parameters"]["body"]] == [
        "client_credentials",
        f"{TEMPLATE_TEXT} %{{",
    ]


def user_strings(stack: dict[str, Any]) -> list[str]:
    """Every string argument of the stack's resources that holds no cdktf reference (so no ``${`` of ours)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and not value.startswith("${") and "${aws_" not in value and "${data." not in value:
            found.append(value)

    walk(stack.get("resource", {}))
    return found


def test_no_stack_leaves_text_for_terraform_to_evaluate(synthesized: dict[str, Synthesized]) -> None:
    checked = 0
    for built in synthesized.values():
        for text in user_strings(built.json):
            terraform_template_text(text)
            checked += 1
    assert checked > 100
