"""Component stacks synthesized once per session: every example deployment plus the variants tests need."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from cdktf import Testing

import modules  # noqa: F401  (lazy AWS provider before any stack module)
from broker_contract.config import RuntimeConfig
from broker_contract.examples import examples
from broker_contract.models import (
    BasicAuth,
    ConsumerDeployment,
    HttpsConsumer,
    HttpsProducer,
    LambdaConsumer,
    OAuthClientCredentials,
    ProducerDeployment,
    SqsConsumer,
    SqsProducer,
)
from broker_contract.names import BrokerNames
from component_stacks.base import StackOptions
from component_stacks.dispatch import build_component_stack

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "eu-west-1"
LOCAL_ENDPOINT = "http://127.0.0.1:5000"
NAMES = BrokerNames("dev", REGION, ACCOUNT)

RUNTIME = RuntimeConfig.derived(NAMES, producer_api_id="a1b2c3d4e5", root_resource_id="r00t1d")

BASIC_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:crm-basic-XyZ123"
OAUTH_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:crm-oauth-XyZ123"


#: Terraform would evaluate this (read a file of the generator, upper-case) if it reached it unescaped.
TEMPLATE_TEXT = '${file("/etc/hostname")} ${upper("x")} %{ if true }y%{ endif } $$${z} $ {'


def terraform_template_text(text: str) -> str:
    """What Terraform makes of a string in a ``.tf.json`` file that must hold no template: its literal value.

    HCL template rules: ``$${`` and ``%%{`` are the escapes of ``${`` and ``%{``, which otherwise start an
    interpolation or a directive (refused here); any other ``$`` or ``%`` is literal.
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        if text.startswith(("$${", "%%{"), index):
            out.append(text[index + 1 : index + 3])
            index += 3
        elif text.startswith(("${", "%{"), index):
            raise AssertionError(f"Terraform would evaluate {text[index : index + 30]!r}")
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def _consumer_variant(base: ConsumerDeployment, subscription_id: str, **changes: Any) -> ConsumerDeployment:
    return base.model_copy(update={"subscription_id": subscription_id, **changes})


def deployments() -> dict[str, ProducerDeployment | ConsumerDeployment]:
    """Every example, plus IAM auth, content filters, unmanaged and cross-account targets, each HTTPS auth."""
    found = examples()
    https_producer, sqs_producer = found["producer-https"], found["producer-sqs"]
    assert isinstance(https_producer, ProducerDeployment)
    assert isinstance(sqs_producer, ProducerDeployment)
    lam, sqs, https = found["consumer-lambda"], found["consumer-sqs"], found["consumer-https"]
    assert isinstance(lam, ConsumerDeployment)
    assert isinstance(sqs, ConsumerDeployment)
    assert isinstance(https, ConsumerDeployment)
    variants: dict[str, ProducerDeployment | ConsumerDeployment] = {
        "producer-https-iam": https_producer.model_copy(
            update={
                "producer": HttpsProducer(
                    auth="IAM", throttle_rate_per_second=5, throttle_burst=7, allowed_accounts=[OTHER_ACCOUNT]
                ),
                "event": https_producer.event.model_copy(update={"version": 2}),
            }
        ),
        # the broker's own account is always allowed, listed or not, and never twice
        "producer-sqs-cross-account": sqs_producer.model_copy(
            update={
                "producer": SqsProducer(allowed_accounts=[OTHER_ACCOUNT, ACCOUNT]),
                "event": sqs_producer.event.model_copy(update={"version": 3}),
            }
        ),
        "consumer-lambda-numeric-filter": _consumer_variant(
            lam, "sub-00000000000000b1", content_filter={"amount": [{"numeric": [">=", 100]}]}, target_unit="audit"
        ),
        "consumer-lambda-prefix-filter": _consumer_variant(
            lam,
            "sub-00000000000000c1",
            content_filter={"order_id": [{"prefix": "vip-"}], "amount": [{"numeric": [">", 10, "<=", 500]}]},
            target_unit="vip-desk",
        ),
        # a filter naming envelope fields: it lands under detail.data, so it can only ever look at data
        "consumer-lambda-escaping-filter": _consumer_variant(
            lam,
            "sub-00000000000000c2",
            content_filter={"metadata": {"event_attributes": {"target": ["billing"]}}, "source": ["shop"]},
            target_unit="audit",
        ),
        "consumer-lambda-cross-account": _consumer_variant(
            lam,
            "sub-00000000000000b2",
            consumer=LambdaConsumer(connection_string=f"arn:aws:lambda:{REGION}:{OTHER_ACCOUNT}:function:bill-order"),
        ),
        "consumer-sqs-unmanaged": _consumer_variant(
            sqs,
            "sub-00000000000000b3",
            consumer=SqsConsumer(
                connection_string=f"arn:aws:sqs:{REGION}:{ACCOUNT}:shared-orders", manage_queue_policy=False
            ),
            max_retry_attempts=3,
            max_event_age_seconds=600,
        ),
        "consumer-sqs-cross-account": _consumer_variant(
            sqs,
            "sub-00000000000000b4",
            consumer=SqsConsumer(connection_string=f"arn:aws:sqs:{REGION}:{OTHER_ACCOUNT}:warehouse-orders"),
        ),
        "consumer-sqs-fifo": _consumer_variant(
            sqs,
            "sub-00000000000000b5",
            consumer=SqsConsumer(connection_string=f"arn:aws:sqs:{REGION}:{ACCOUNT}:warehouse-orders.fifo"),
        ),
        "consumer-https-basic": _consumer_variant(
            https,
            "sub-00000000000000b6",
            consumer=HttpsConsumer(
                connection_string="https://crm.example.com/hooks/basic",
                auth=BasicAuth(secret_arn=BASIC_SECRET),
                rate_limit_per_second=3,
            ),
        ),
        "consumer-https-oauth": _consumer_variant(
            https,
            "sub-00000000000000b7",
            consumer=HttpsConsumer(
                connection_string="https://crm.example.com/hooks/oauth",
                auth=OAuthClientCredentials(
                    secret_arn=OAUTH_SECRET,
                    token_url="https://login.example.com/oauth2/token",
                    scopes=["events.write", "crm"],
                ),
            ),
        ),
        "consumer-https-noauth": _consumer_variant(
            https, "sub-00000000000000b8", consumer=HttpsConsumer(connection_string="https://crm.example.com/open")
        ),
        # user text that Terraform would read as a template if it were not escaped
        "producer-https-template-text": https_producer.model_copy(
            update={
                "event": https_producer.event.model_copy(update={"version": 3}),
                "envelope_schema": {
                    **https_producer.envelope_schema,
                    "description": TEMPLATE_TEXT,
                    "properties": {
                        **https_producer.envelope_schema["properties"],
                        "note": {"type": "string", "pattern": "^\\$\\{[a-z]+\\}$", "description": "%{ if true }"},
                    },
                },
            }
        ),
        "consumer-https-template-text": _consumer_variant(
            https,
            "sub-00000000000000c3",
            consumer=HttpsConsumer(
                connection_string="https://crm.example.com/hooks/x?tag=%{b}&v=${c}",
                auth=OAuthClientCredentials(
                    secret_arn=OAUTH_SECRET, token_url="https://login.example.com/token", scopes=[TEMPLATE_TEXT, "%{"]
                ),
            ),
            content_filter={"note": [TEMPLATE_TEXT, "$${kept}"]},
        ),
    }
    return {**found, **variants}


@dataclass(frozen=True)
class Synthesized:
    """One built stack: its deployment, its construct id and its synthesized JSON."""

    deployment: ProducerDeployment | ConsumerDeployment
    stack_id: str
    json: dict[str, Any]


@pytest.fixture(scope="session")
def synthesized() -> Iterator[dict[str, Synthesized]]:
    """Every deployment of ``deployments()`` built and synthesized once, plus ``local-*`` in local mode."""
    app = Testing.app()
    local_app = Testing.app()
    built: dict[str, Synthesized] = {}
    for name, deployment in deployments().items():
        stack = build_component_stack(app, deployment, RUNTIME)
        built[name] = Synthesized(deployment, stack.node.id, json.loads(Testing.synth(stack)))
    for name in ("producer-https", "consumer-sqs"):
        deployment = built[name].deployment
        stack = build_component_stack(local_app, deployment, RUNTIME, StackOptions(endpoint_url=LOCAL_ENDPOINT))
        built[f"local-{name}"] = Synthesized(deployment, stack.node.id, json.loads(Testing.synth(stack)))
    yield built


def resources_of(stack_json: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    """Bodies of every resource of one type in a synthesized stack."""
    return list(stack_json.get("resource", {}).get(resource_type, {}).values())


def one(stack_json: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """The body of the single resource of ``resource_type``; fails when there are none or several."""
    found = resources_of(stack_json, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {len(found)}"
    return found[0]


def ref(stack_json: dict[str, Any], resource_type: str, attribute: str) -> str:
    """The Terraform reference to ``attribute`` of the single resource of ``resource_type``."""
    (logical_id,) = stack_json["resource"][resource_type]
    return f"${{{resource_type}.{logical_id}.{attribute}}}"
