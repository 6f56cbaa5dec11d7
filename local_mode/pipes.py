"""EventBridge Pipes from SQS queues to event buses, executed by local mode (moto stores pipes but never runs them).

:class:`PipePump` reads every pipe from the embedded AWS (``list_pipes``/``describe_pipe``, refreshed every
couple of seconds so new pipes are picked up and deleted ones dropped) and, for each running pipe whose source
is an SQS queue and whose target is an event bus, does what the pipe would:

1. receives up to the pipe's ``BatchSize`` (at most 10) messages from the source queue;
2. turns each into the record Pipes hands to its target (``messageId``, ``body``, ``attributes``,
   ``messageAttributes``, ``eventSource``, ``eventSourceARN`` ...) and applies the target's ``InputTemplate``
   with Pipes' input transformation rules (:func:`transform`);
3. puts the results on the target bus with the target's ``EventBridgeEventBusParameters`` (``DetailType``,
   ``Source``, ``Resources``) and deletes the messages whose events were accepted. A refused event leaves its
   message in the queue: it comes back after the visibility timeout, and the queue's redrive policy (which
   moto applies) moves it to the dead-letter queue after ``maxReceiveCount`` receives, as with a real pipe.

Limits: no filters (``FilterCriteria``), enrichment, batching window, or other sources and targets (they are
logged and skipped); the pipe's role is not assumed.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from jsonpath_ng.exceptions import JSONPathError
from jsonpath_ng.parser import parse as parse_jsonpath

from local_mode.aws import AwsClients

log = logging.getLogger(__name__)

#: ``<$.json.path>`` or a reserved ``<aws.pipes.*>`` variable
PLACEHOLDER = re.compile(r"<(\$[^<>\s]*|aws\.pipes\.[A-Za-z0-9.-]+)>")
SQS_ARN = re.compile(r"arn:aws[a-z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>[A-Za-z0-9_.-]+)")
EVENT_BUS_ARN = re.compile(r"arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/.+")
MAX_PUT_EVENTS_ENTRIES = 10
_MISSING = object()


@dataclass(frozen=True)
class Pipe:
    """What the pump needs of one pipe, as ``describe_pipe`` returned it."""

    name: str
    arn: str
    source_arn: str
    target_arn: str
    batch_size: int
    input_template: str | None
    detail_type: str | None
    source: str | None
    resources: list[str] = field(default_factory=list)

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> Pipe:
        source_parameters = description.get("SourceParameters") or {}
        target_parameters = description.get("TargetParameters") or {}
        bus_parameters = target_parameters.get("EventBridgeEventBusParameters") or {}
        batch_size = (source_parameters.get("SqsQueueParameters") or {}).get("BatchSize") or 10
        return cls(
            name=description["Name"],
            arn=description["Arn"],
            source_arn=description["Source"],
            target_arn=description["Target"],
            batch_size=max(1, min(int(batch_size), MAX_PUT_EVENTS_ENTRIES)),
            input_template=target_parameters.get("InputTemplate"),
            detail_type=bus_parameters.get("DetailType"),
            source=bus_parameters.get("Source"),
            resources=list(bus_parameters.get("Resources") or []),
        )

    @property
    def supported(self) -> bool:
        return bool(SQS_ARN.fullmatch(self.source_arn) and EVENT_BUS_ARN.fullmatch(self.target_arn))


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """The record an SQS-sourced pipe hands to its target for one received message."""
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: {
                key[0].lower() + key[1:]: value
                for key, value in attribute.items()
                if key in ("StringValue", "BinaryValue", "DataType")
            }
            for name, attribute in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def _parsed_body(record: dict[str, Any]) -> dict[str, Any]:
    """Pipes' implicit body parsing: a message body holding a JSON object or array is addressed as JSON."""
    try:
        body = json.loads(record.get("body", ""))
    except (TypeError, json.JSONDecodeError):
        return record
    return {**record, "body": body} if isinstance(body, dict | list) else record


def _resolve(expression: str, event: dict[str, Any], reserved: dict[str, Any]) -> Any:
    if not expression.startswith("$"):
        return reserved.get(expression, _MISSING)
    try:
        matches = [match.value for match in parse_jsonpath(expression).find(_parsed_body(event))]
    except JSONPathError:
        log.warning("unsupported JSON path %s in a pipe's input template", expression)
        return _MISSING
    if not matches:
        return _MISSING
    return matches[0] if len(matches) == 1 and "*" not in expression else matches


def _fill(value: Any, in_string: bool, json_template: bool) -> str:
    """A placeholder's text: inside a JSON string the value's escaped text, elsewhere its JSON (strings raw)."""
    if value is _MISSING:
        return "null" if json_template and not in_string else ""
    if in_string:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return json.dumps(text, ensure_ascii=False)[1:-1]
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def transform(template: str | None, event: dict[str, Any], reserved: dict[str, Any] | None = None) -> str:
    """Apply a pipe's ``InputTemplate`` to one event (EventBridge Pipes input transformation).

    Without a template the event itself is sent. ``<$.path>`` selects from the event, with a JSON message body
    parsed (``<$.body>`` is the envelope a producer sent); ``<aws.pipes.pipe-arn>`` and the other reserved
    variables name the pipe. A value placed inside a JSON string is escaped for it; outside, objects, arrays,
    numbers and booleans are written as JSON and strings as they are: as AWS documents, quote placeholders of
    strings and do not quote those of objects or arrays.
    """
    if template is None:
        return json.dumps(event, ensure_ascii=False)
    values = reserved or {}
    json_template = template.lstrip()[:1] in ("{", "[")
    out: list[str] = []
    in_string = False
    index = 0
    while index < len(template):
        placeholder = PLACEHOLDER.match(template, index)
        if placeholder is not None:
            out.append(_fill(_resolve(placeholder.group(1), event, values), in_string, json_template))
            index = placeholder.end()
            continue
        char = template[index]
        if in_string and char == "\\":
            out.append(template[index : index + 2])
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        index += 1
    return "".join(out)


class PipePump:
    """Runs every SQS-to-event-bus pipe of the embedded AWS at ``moto_url`` in one background thread.

    ``refresh_seconds``: how often the list of pipes is read again; ``idle_seconds``: the pause after a round
    in which no queue had a message. ``client_factory(service)`` builds the boto3 clients (default: clients of
    ``moto_url`` with throw-away credentials); each is built once, before the thread starts.
    """

    def __init__(
        self,
        moto_url: str,
        region: str,
        *,
        refresh_seconds: float = 2.0,
        idle_seconds: float = 0.2,
        client_factory: Callable[[str], Any] | None = None,
    ) -> None:
        self.moto_url = moto_url
        self.region = region
        self.refresh_seconds = refresh_seconds
        self.idle_seconds = idle_seconds
        self._client_factory = client_factory or AwsClients(moto_url, region).client
        self._clients: dict[str, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pipes: list[Pipe] = []
        self._queue_urls: dict[str, str] = {}
        self._skipped: set[str] = set()
        self._refreshed_at = float("-inf")

    def start(self) -> None:
        """Start pumping in a daemon thread."""
        if self._thread is not None:
            return
        self._build_clients()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-pipe-pump", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current round (a few hundred milliseconds at most)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _build_clients(self) -> None:
        # on the caller's thread, before the pump's: creating boto3 clients is not thread-safe, using them is
        for service in ("pipes", "sqs", "events"):
            if service not in self._clients:
                self._clients[service] = self._client_factory(service)

    def _client(self, service: str) -> Any:
        return self._clients[service]

    def _run(self) -> None:
        while not self._stop.is_set():
            delivered = 0
            pause = self.idle_seconds
            try:
                if time.monotonic() - self._refreshed_at >= self.refresh_seconds:
                    self.refresh()
                for pipe in self._pipes:
                    delivered += self.pump(pipe)
            except Exception:  # the pump must outlive a bad pipe or an unreachable moto: log, wait, go on
                log.exception("pipe pump round failed; trying again in %.0f s", self.refresh_seconds)
                pause = self.refresh_seconds
            if not delivered:
                self._stop.wait(pause)

    @property
    def pipes(self) -> list[Pipe]:
        """The pipes pumped since the last refresh."""
        return list(self._pipes)

    def refresh(self) -> None:
        """Read the pipes again from the embedded AWS (the thread does it every ``refresh_seconds``)."""
        self._build_clients()
        pipes_client = self._client("pipes")
        found: list[Pipe] = []
        token: str | None = None
        while True:
            page = pipes_client.list_pipes(**({"NextToken": token} if token else {}))
            for summary in page.get("Pipes", []):
                if summary.get("DesiredState", "RUNNING") != "RUNNING":
                    continue
                pipe = Pipe.from_description(pipes_client.describe_pipe(Name=summary["Name"]))
                if pipe.supported:
                    found.append(pipe)
                elif pipe.arn not in self._skipped:
                    self._skipped.add(pipe.arn)
                    log.warning(
                        "local mode does not run pipe %s (%s -> %s)", pipe.name, pipe.source_arn, pipe.target_arn
                    )
            token = page.get("NextToken")
            if not token:
                break
        self._pipes = found
        self._refreshed_at = time.monotonic()

    def _queue_url(self, queue_arn: str) -> str:
        if queue_arn not in self._queue_urls:
            parts = SQS_ARN.fullmatch(queue_arn)
            assert parts is not None  # Pipe.supported checked it
            self._queue_urls[queue_arn] = self._client("sqs").get_queue_url(
                QueueName=parts["name"], QueueOwnerAWSAccountId=parts["account"]
            )["QueueUrl"]
        return self._queue_urls[queue_arn]

    def pump(self, pipe: Pipe) -> int:
        """Move one batch of ``pipe``'s source queue to its bus; how many messages were delivered."""
        self._build_clients()
        sqs = self._client("sqs")
        try:
            queue_url = self._queue_url(pipe.source_arn)
        except ClientError:
            log.warning("source queue of pipe %s not found: %s", pipe.name, pipe.source_arn)
            return 0
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=pipe.batch_size,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        ingestion_time = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        entries = []
        for message in received:
            record = sqs_record(message, pipe.source_arn, self.region)
            reserved = {
                "aws.pipes.pipe-arn": pipe.arn,
                "aws.pipes.pipe-name": pipe.name,
                "aws.pipes.source-arn": pipe.source_arn,
                "aws.pipes.target-arn": pipe.target_arn,
                "aws.pipes.event.ingestion-time": ingestion_time,
                "aws.pipes.event": record,
                "aws.pipes.event.json": json.dumps(record, ensure_ascii=False),
            }
            entry: dict[str, Any] = {
                "EventBusName": pipe.target_arn,
                "Source": pipe.source or f"Pipe {pipe.name}",
                "DetailType": pipe.detail_type or "Event from aws:sqs",
                "Detail": transform(pipe.input_template, record, reserved),
            }
            if pipe.resources:
                entry["Resources"] = pipe.resources
            entries.append(entry)
        answer = self._client("events").put_events(Entries=entries)
        accepted = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, (message, result) in enumerate(zip(received, answer.get("Entries", []), strict=False))
            if result.get("EventId")
        ]
        for result in answer.get("Entries", []):
            if not result.get("EventId"):
                log.warning(
                    "pipe %s: the bus refused an event (%s: %s); its message stays in the queue",
                    pipe.name,
                    result.get("ErrorCode"),
                    result.get("ErrorMessage"),
                )
        if accepted:
            sqs.delete_message_batch(QueueUrl=queue_url, Entries=accepted)
        return len(accepted)
