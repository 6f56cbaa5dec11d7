"""Pure routing pieces of a consumer: its rule's event pattern and the permissions delivery needs.

Kept free of cdktf so the portal, the generator and tests can compute them without a stack.
"""

from __future__ import annotations

from typing import Any

# the pattern and rule ARN live in the contract: the portal matches and measures the very text the stack writes
from broker_contract.arns import EVENTS_PRINCIPAL
from broker_contract.routing import consumer_event_pattern, event_pattern, event_pattern_json, rule_arn

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
