"""Pure routing pieces of a consumer: its rule's event pattern and the permissions delivery needs.

Kept free of cdktf so the portal, the generator and tests can compute them without a stack.
"""

from __future__ import annotations

import json
from typing import Any

# the pattern and rule ARN live in the contract: the portal matches sample events with the same pattern
from broker_contract.routing import consumer_event_pattern, event_pattern, rule_arn

__all__ = [
    "EVENTS_PRINCIPAL",
    "consumer_event_pattern",
    "event_pattern",
    "event_pattern_json",
    "policy_sid",
    "queue_policy",
    "rule_arn",
    "send_message_statement",
]

EVENTS_PRINCIPAL = "events.amazonaws.com"


def event_pattern_json(pattern: dict[str, Any]) -> str:
    """The pattern as the rule stores it: sorted keys, so identical subscriptions give identical plans.

    This is the text EventBridge receives; in a ``.tf.json`` file it goes through ``terraform_literal``.
    """
    return json.dumps(pattern, sort_keys=True, separators=(",", ":"))


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
