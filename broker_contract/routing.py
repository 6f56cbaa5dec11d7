"""How events reach a subscription: its rule's event pattern and the ARNs replays need.

One definition for the consumer stacks (``modules.consumers.pattern`` re-exports it), the generator and
the portal, whose try-before-you-send and replay endpoints must agree with the deployed rule, and which
measures the very text the stack writes against the event-pattern quota before storing a subscription.
"""

from __future__ import annotations

import json
from typing import Any

from broker_contract.models import ConsumerDeployment


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

    This is the text EventBridge receives (and measures against its pattern-size quota); in a
    ``.tf.json`` file it goes through ``terraform_literal``.
    """
    return json.dumps(pattern, sort_keys=True, separators=(",", ":"))


def rule_arn(event_bus_arn: str, rule_name: str) -> str:
    """ARN of a rule on a custom bus: ``arn:<partition>:events:<region>:<account>:rule/<bus>/<rule>``."""
    prefix, bus = event_bus_arn.split(":event-bus/", 1)
    return f"{prefix}:rule/{bus}/{rule_name}"


def archive_arn(event_bus_arn: str, archive_name: str) -> str:
    """ARN of an archive: ``arn:<partition>:events:<region>:<account>:archive/<name>``.

    Archives live beside the bus they record, so the bus ARN gives partition, region and account.
    """
    prefix, _ = event_bus_arn.split(":event-bus/", 1)
    return f"{prefix}:archive/{archive_name}"
