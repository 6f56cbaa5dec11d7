"""Pure routing pieces of a consumer: its rule's event pattern and the permissions delivery needs.

Kept free of cdktf so the portal, the generator and tests can compute them without a stack.
"""

from __future__ import annotations

import json
from typing import Any

from broker_contract.models import ConsumerDeployment, HttpsConsumer, LambdaConsumer

EVENTS_PRINCIPAL = "events.amazonaws.com"


def event_pattern(
    source: str, detail_type: str, target_unit: str, content_filter: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Events of one version from one application, addressed to one target unit, optionally filtered on data."""
    detail: dict[str, Any] = {"metadata": {"event_attributes": {"target": [target_unit]}}}
    if content_filter:
        detail["data"] = content_filter
    return {"source": [source], "detail-type": [detail_type], "detail": detail}


def consumer_event_pattern(deployment: ConsumerDeployment) -> dict[str, Any]:
    """The EventBridge pattern of a subscription's rule.

    ``{"source": [application], "detail-type": ["<event_type>.<version>"], "detail": {"metadata":
    {"event_attributes": {"target": [target_unit]}}, "data": <content_filter>}}``; ``data`` only
    when the subscription has a content filter.
    """
    return event_pattern(
        deployment.event.application,
        deployment.event.detail_type,
        deployment.target_unit,
        deployment.content_filter,
    )


def event_pattern_json(pattern: dict[str, Any]) -> str:
    """The pattern as the rule stores it: sorted keys, so identical subscriptions give identical plans.

    This is the text EventBridge receives; in a ``.tf.json`` file it goes through ``terraform_literal``.
    """
    return json.dumps(pattern, sort_keys=True, separators=(",", ":"))


def terraform_literal(text: str) -> str:
    """``text`` escaped so Terraform takes it literally: ``${`` -> ``$${``, ``%{`` -> ``%%{``.

    Terraform reads every string argument of a ``.tf.json`` file as a template, and cdktf escapes
    nothing: user-supplied text (a schema, a content filter, a URL, OAuth scopes) would otherwise be
    evaluated by ``terraform plan`` (``${file("...")}`` reads the generator's files) or break it.
    Apply it to user text only, never to a string holding cdktf references.
    """
    return text.replace("${", "$${").replace("%{", "%%{")


def arn_account(arn: str) -> str:
    """The account id field of an ARN."""
    return arn.split(":")[4]


def arn_region(arn: str) -> str:
    """The region field of an ARN."""
    return arn.split(":")[3]


def arn_partition(arn: str) -> str:
    """The partition field of an ARN (``aws``, ``aws-cn`` ...)."""
    return arn.split(":")[1]


def rule_arn(event_bus_arn: str, rule_name: str) -> str:
    """ARN of a rule on a custom bus: ``arn:<partition>:events:<region>:<account>:rule/<bus>/<rule>``."""
    prefix, bus = event_bus_arn.split(":event-bus/", 1)
    return f"{prefix}:rule/{bus}/{rule_name}"


def send_message_statement(queue_arn: str, source_rule_arn: str, sid: str) -> dict[str, Any]:
    """Queue-policy statement letting EventBridge send to ``queue_arn`` only on behalf of one rule."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": EVENTS_PRINCIPAL},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": source_rule_arn}},
    }


def queue_policy(queue_arn: str, source_rule_arn: str, sid: str) -> dict[str, Any]:
    """A whole queue policy made of ``send_message_statement``."""
    return {"Version": "2012-10-17", "Statement": [send_message_statement(queue_arn, source_rule_arn, sid)]}


def policy_sid(name: str) -> str:
    """A statement id derived from a resource name (Sids allow only letters and digits)."""
    return "".join(part.capitalize() for part in name.replace("_", "-").split("-") if part.isalnum())


def delivery_problems(deployment: ConsumerDeployment, region: str) -> list[str]:
    """Why a rule on the broker's bus in ``region`` could not deliver this subscription; empty when it can.

    A rule delivers to functions and queues of its own region only (other accounts are fine, with the
    owner's permission): a target elsewhere would only fail at ``terraform apply``. The portal can
    refuse such a subscription with these messages, which name the field and the rule.
    """
    consumer = deployment.consumer
    if isinstance(consumer, HttpsConsumer):
        return []
    target_region = arn_region(consumer.connection_string)
    if target_region == region:
        return []
    kind = "function" if isinstance(consumer, LambdaConsumer) else "queue"
    return [
        f"consumer.connection_string: the {kind} must be in the broker's region {region} "
        f"(EventBridge rules deliver to functions and queues of their own region only), not {target_region}"
    ]
