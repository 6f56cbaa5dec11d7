"""Pure routing pieces of a consumer: its rule's event pattern and the permissions delivery needs.

Kept free of cdktf so the portal, the generator and tests can compute them without a stack.
"""

from __future__ import annotations

import json
from typing import Any

from broker_contract.models import ConsumerDeployment

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


def broker_deliveries_statement(queue_arn: str, event_bus_arn: str, rule_prefix: str, sid: str) -> dict[str, Any]:
    """The one queue-policy statement letting every subscription rule of the broker (``<rule_prefix>*``) send.

    One statement per queue, whatever the number of subscriptions on it: SQS allows 20 statements and
    8 KB per policy, so a statement per subscription would cap a queue at a handful of subscriptions.
    """
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": EVENTS_PRINCIPAL},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnLike": {"aws:SourceArn": rule_arn(event_bus_arn, f"{rule_prefix}*")}},
    }


def role_send_message_statement(queue_arn: str, role_arn: str, sid: str) -> dict[str, Any]:
    """Queue-policy statement letting one subscription's execution role (another account's bus) send to the queue."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": role_arn},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
    }
