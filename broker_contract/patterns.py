"""The EventBridge pattern of a subscription's rule: one definition for the consumer stack and the portal.

The consumer stack puts exactly this text on the rule; the portal measures the same text against the
event-pattern quota before it stores a subscription, so a pattern EventBridge would refuse never
reaches ``terraform apply``.
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
