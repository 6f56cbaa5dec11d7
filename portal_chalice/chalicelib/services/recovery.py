"""Recovering missed events: replays from the bus archive, and the dead letters of a subscription.

Only the subscribing team may do either, and only for its own subscription: a replay is started with
the subscription's rule as its only filter, so nobody else receives anything twice.

Redrive sends dead letters back the only way that keeps them on this subscription's path (the portal
cannot write to a consumer's queue or call its function in another account; EventBridge can): a
replay of the archive window the dead events were put on the bus in, filtered to the subscription's
rule. The rule delivers them again with its retry policy and DLQ, as the first time. Events of that
window that had been delivered are delivered again (EventBridge delivers at least once, so consumers
already tolerate duplicates). Dead letters are deleted only once the replay has been accepted.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from broker_contract.routing import archive_arn, rule_arn
from chalicelib.aws.dead_letters import QueuedMessage, QueueMissing
from chalicelib.aws.replays import ReplayExists, ReplayNotFound, ReplayRefused
from chalicelib.errors import FieldProblem, bad_request, conflict, not_found
from chalicelib.models import DeadLetter, DeadLetters, Redrive, Replay
from chalicelib.records import SubscriptionRecord
from chalicelib.services.backend import Backend
from chalicelib.services.consumers import owned_subscription

#: the broker stack's archive keeps events this long (``BrokerConfig.archive_retention_days``)
ARCHIVE_RETENTION = timedelta(days=30)
#: a redrive handles at most this many dead letters per request (call again for the rest)
MAX_REDRIVE = 500
#: how long received dead letters stay hidden while a redrive decides about them
REDRIVE_VISIBILITY_SECONDS = 60
REPLAY_NAME_PATTERN = r"^sub-[0-9a-f]{16}-[0-9a-f]{8}$"


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise bad_request(f"{name} has no UTC offset", FieldProblem(name, "must be ISO 8601 with an offset, e.g. Z"))
    return value.astimezone(UTC)


def _time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def replay_view(subscription_id: str, described: dict[str, Any]) -> Replay:
    return Replay(
        replay_name=str(described.get("ReplayName", "")),
        subscription_id=subscription_id,
        state=str(described.get("State", "STARTING")),
        state_reason=described.get("StateReason"),
        start=_time(described.get("EventStartTime")),
        end=_time(described.get("EventEndTime")),
        replay_started_at=_time(described.get("ReplayStartTime")),
        replay_ended_at=_time(described.get("ReplayEndTime")),
        events_last_replayed_at=_time(described.get("EventLastReplayedTime")),
    )


def _event_time(message: QueuedMessage) -> datetime | None:
    """When the dead event was put on the bus (its ``time`` field), if the body is an EventBridge event."""
    try:
        event = json.loads(message.body)
        raw = event["time"] if isinstance(event, dict) else None
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00")).astimezone(UTC) if raw else None
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def _body(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


class RecoveryService:
    """Replays and dead letters of the caller's own subscriptions."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _start(self, record: SubscriptionRecord, start: datetime, end: datetime) -> Replay:
        config, names = self.backend.config, self.backend.names
        name = f"{record.subscription_id}-{self.backend.new_hex()[:8]}"
        try:
            described = self.backend.replays.start(
                name,
                archive_arn=archive_arn(config.event_bus_arn, names.event_archive),
                bus_arn=config.event_bus_arn,
                rule_arn=rule_arn(config.event_bus_arn, names.consumer(record.subscription_id).rule),
                start=start,
                end=end,
            )
        except ReplayRefused as refused:
            raise bad_request(
                f"EventBridge refused the replay: {refused}", FieldProblem("start", str(refused))
            ) from None
        except ReplayExists:
            raise conflict(f"replay {name} exists already; retry") from None
        return replay_view(record.subscription_id, described)

    def start_replay(self, team: str, subscription_id: str, start: datetime, end: datetime) -> Replay:
        """Replay ``[start, end)`` of the archive to the subscription's rule (its team only)."""
        record = owned_subscription(self.backend, team, subscription_id, active=True)
        start, end = _aware(start, "start"), _aware(end, "end")
        now = self.backend.clock()
        if start >= end:
            raise bad_request("the window is empty", FieldProblem("end", "must be after start"))
        if end > now:
            raise bad_request("the window ends in the future", FieldProblem("end", "must not be in the future"))
        if start < now - ARCHIVE_RETENTION:
            raise bad_request(
                "the window starts before the archive's retention",
                FieldProblem("start", f"must be within the last {ARCHIVE_RETENTION.days} days (archive retention)"),
            )
        return self._start(record, start, end)

    def replay(self, team: str, subscription_id: str, replay_name: str) -> Replay:
        """A replay of the caller's subscription (names start with the subscription id)."""
        owned_subscription(self.backend, team, subscription_id, active=False)
        if re.fullmatch(REPLAY_NAME_PATTERN, replay_name) is None or not replay_name.startswith(subscription_id):
            raise not_found(f"subscription {subscription_id} has no replay {replay_name!r}")
        try:
            described = self.backend.replays.describe(replay_name)
        except ReplayNotFound:
            raise not_found(f"subscription {subscription_id} has no replay {replay_name!r}") from None
        return replay_view(subscription_id, described)

    def _queue(self, record: SubscriptionRecord) -> str:
        try:
            return self.backend.dead_letters.url(self.backend.names.consumer(record.subscription_id).dead_letter_queue)
        except QueueMissing:
            raise not_found(
                f"subscription {record.subscription_id} has no dead-letter queue (not deployed yet, or torn down)"
            ) from None

    def dead_letters(self, team: str, subscription_id: str, sample: int) -> DeadLetters:
        """How many events wait in the DLQ and up to ``sample`` of them (left in the queue)."""
        record = owned_subscription(self.backend, team, subscription_id, active=False)
        queues = self.backend.dead_letters
        url = self._queue(record)
        count = queues.count(url)
        messages = queues.receive(url, sample, visibility_timeout=30)
        queues.release(url, messages)
        return DeadLetters(
            queue_url=url,
            count=count,
            sample=[
                DeadLetter(
                    message_id=message.message_id,
                    body=_body(message.body),
                    error_code=message.attributes.get("ERROR_CODE"),
                    error_message=message.attributes.get("ERROR_MESSAGE"),
                    sent_at=(
                        datetime.fromtimestamp(message.sent_timestamp_ms / 1000, UTC)
                        if message.sent_timestamp_ms is not None
                        else None
                    ),
                )
                for message in messages
            ],
        )

    def redrive(self, team: str, subscription_id: str) -> Redrive:
        """Deliver the dead letters again through the subscription's rule (see the module docstring)."""
        record = owned_subscription(self.backend, team, subscription_id, active=True)
        queues = self.backend.dead_letters
        url = self._queue(record)
        timed: list[tuple[QueuedMessage, datetime]] = []
        untimed: list[QueuedMessage] = []
        oldest = self.backend.clock() - ARCHIVE_RETENTION
        while len(timed) + len(untimed) < MAX_REDRIVE:
            batch = queues.receive(url, 10, visibility_timeout=REDRIVE_VISIBILITY_SECONDS)
            if not batch:
                break
            for message in batch:
                when = _event_time(message)
                if when is None or when < oldest:
                    untimed.append(message)
                else:
                    timed.append((message, when))
        queues.release(url, untimed)
        if not timed:
            return Redrive(moved=0, failed=len(untimed), replay_name=None)
        start = min(when for _, when in timed)
        # EventEndTime is exclusive; event times have second precision
        end = max(when for _, when in timed) + timedelta(seconds=1)
        try:
            replay = self._start(record, start, end)
        except Exception:
            queues.release(url, [message for message, _ in timed])
            raise
        queues.delete(url, [message for message, _ in timed])
        return Redrive(moved=len(timed), failed=len(untimed), replay_name=replay.replay_name)
