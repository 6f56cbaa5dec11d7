"""EventBridge adapter for replays: archived events of a time window delivered again to one rule.

The broker's archive (``BrokerNames.event_archive``, created by the broker stack on the bus) keeps
every event for 30 days; ``StartReplay`` with the rule's ARN as the only filter sends the window's
events to that rule alone, so other subscriptions see nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from broker_contract.lazy_client import LazyClient


class ReplayNotFound(Exception):
    """No replay of that name exists."""


class ReplayRefused(Exception):
    """EventBridge refused the replay (window outside the archive, archive missing, too many replays ...)."""


class ReplayExists(Exception):
    """A replay of that name exists already."""


class EventReplays(LazyClient):
    """``StartReplay`` / ``DescribeReplay`` over an injected ``events`` client."""

    def __init__(self, client_factory: Callable[[], Any]) -> None:
        super().__init__(client_factory)

    def start(
        self, name: str, *, archive_arn: str, bus_arn: str, rule_arn: str, start: datetime, end: datetime
    ) -> dict[str, Any]:
        """Start replaying ``[start, end)`` of the archive to ``rule_arn`` only; the replay's description."""
        try:
            self.client.start_replay(
                ReplayName=name,
                Description=f"replay to {rule_arn.rsplit('/', 1)[-1]}",
                EventSourceArn=archive_arn,
                EventStartTime=start,
                EventEndTime=end,
                Destination={"Arn": bus_arn, "FilterArns": [rule_arn]},
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", code)
            if code == "ResourceAlreadyExistsException":
                raise ReplayExists(message) from error
            if code in (
                "ValidationException",
                "ResourceNotFoundException",
                "LimitExceededException",
                "InvalidEventPatternException",
            ):
                raise ReplayRefused(message) from error
            raise
        return self.describe(name)

    def describe(self, name: str) -> dict[str, Any]:
        """``DescribeReplay``; ``ReplayNotFound`` when there is none of that name."""
        try:
            response: dict[str, Any] = self.client.describe_replay(ReplayName=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise ReplayNotFound(name) from error
            raise
        return response
