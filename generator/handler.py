"""Lambda entry point: SQS messages carrying S3 notifications of new deployment files.

Each record is processed on its own; records that failed transiently are returned as
``batchItemFailures`` so SQS retries only them (after ``maxReceiveCount`` receives they move to the
dead-letter queue of the core stack). Invalid files are recorded as failed and not retried.

Every invocation finishes within its time: Terraform commands only get what is left of the Lambda's
remaining time (minus a reserve to record the outcome), a record that cannot start with at least
:data:`MIN_RECORD_SECONDS` left is reported as a failure without being touched, and each failed
record's visibility is shortened to :data:`RETRY_AFTER_SECONDS`, so it is retried in a minute rather
than after the queue's long visibility timeout (which must exceed the function's timeout).
The module imports nothing heavy: boto3 clients and the cdktf machinery are built on first use
and kept for the next invocations of a warm Lambda.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from broker_contract.config import RuntimeConfig
from generator.queue import DeploymentQueue
from generator.service import GeneratorService, Outcome, ProcessResult, describe
from generator.settings import ENDPOINT_URL_VARIABLE, TERRAFORM_TIMEOUT_VARIABLE, WORK_ROOT_VARIABLE

logger = logging.getLogger(__name__)

#: kept back from the Lambda's remaining time to record the outcome and answer
RESERVE_SECONDS = 30.0
#: a record is only started with at least this much time left (an init and a small apply)
MIN_RECORD_SECONDS = 120.0
#: when a failed record comes back
RETRY_AFTER_SECONDS = 60


@dataclass(frozen=True)
class FileNotification:
    """One object created in a deployment bucket."""

    bucket: str
    key: str


class MalformedMessage(ValueError):
    """An SQS body that is neither an S3 notification nor an S3 test event."""


def notifications(body: str) -> list[FileNotification]:
    """The files named by one SQS message body; empty for ``s3:TestEvent`` and non-creation events.

    Accepts S3 event notifications (``{"Records": [{"s3": ...}]}``) and EventBridge ``Object Created``
    events (``{"detail": {"bucket": {"name"}, "object": {"key"}}}``).
    """
    try:
        message = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedMessage(f"body is not JSON: {error}") from error
    if not isinstance(message, dict):
        raise MalformedMessage("body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    if "Records" in message:
        found = []
        for record in message["Records"]:
            if not str(record.get("eventName", "ObjectCreated:")).startswith("ObjectCreated:"):
                continue
            try:
                # S3 URL-encodes keys in notifications (spaces become '+')
                found.append(
                    FileNotification(record["s3"]["bucket"]["name"], unquote_plus(record["s3"]["object"]["key"]))
                )
            except (KeyError, TypeError) as error:
                raise MalformedMessage(f"S3 record without bucket or key: {error}") from error
        return found
    detail = message.get("detail")
    if isinstance(detail, dict) and "bucket" in detail and "object" in detail:
        return [FileNotification(detail["bucket"]["name"], detail["object"]["key"])]
    raise MalformedMessage("not an S3 notification")


def handle_batch(
    service: GeneratorService, event: dict[str, Any], deadline: float | None = None
) -> dict[str, list[dict[str, str]]]:
    """Process every record of an SQS event; the partial batch response naming the records to retry.

    ``deadline`` (``time.monotonic()``): records not started when less than :data:`MIN_RECORD_SECONDS`
    remain are reported for retry untouched.
    """
    failures: list[dict[str, str]] = []
    results: list[ProcessResult] = []
    for message_id, body in _records(event):
        if deadline is not None and deadline - time.monotonic() < MIN_RECORD_SECONDS:
            failures.append({"itemIdentifier": message_id})
            continue
        try:
            files = notifications(body)
        except MalformedMessage as error:
            # retrying cannot fix it; the message is dropped after being logged
            logger.error("dropping malformed message", extra={"message_id": message_id, "reason": str(error)})
            continue
        retry = False
        for file in files:
            try:
                result = service.process(file.bucket, file.key, deadline)
            except Exception:
                logger.exception("deployment file not processed", extra={"bucket": file.bucket, "key": file.key})
                result = ProcessResult(Outcome.RETRY, detail="unexpected error")
            results.append(result)
            retry = retry or result.retry
        if retry:
            failures.append({"itemIdentifier": message_id})
    logger.info("batch processed", extra={"outcomes": describe(results), "retried": len(failures)})
    return {"batchItemFailures": failures}


def _records(event: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for record in event.get("Records", []):
        yield str(record.get("messageId", "")), str(record.get("body", ""))


def build_service(
    runtime: RuntimeConfig | None = None,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    terraform: str = "auto",
    shared: GeneratorService | None = None,
) -> GeneratorService:
    """The real service: boto3 clients, cdktf synthesizer, Terraform (all created lazily).

    ``terraform``: ``auto`` (the one on the PATH, if any), ``off`` (stop at ``synthesized``), or a path.
    ``shared``: another service whose synthesizer, Terraform runner and AWS actions this one reuses (one jsii
    kernel and one stage lock per process); its own adapters and boto3 clients are new.
    """
    import boto3  # noqa: PLC0415  (kept out of the module import: tests patch AWS before any client)

    from broker_contract.dynamodb_store import DynamoDBDeploymentStore  # noqa: PLC0415
    from generator import terraform_setup  # noqa: PLC0415
    from generator.aws_actions import AwsPostApplyActions  # noqa: PLC0415
    from generator.files import DeploymentFiles  # noqa: PLC0415
    from generator.runner import DEFAULT_TIMEOUT_SECONDS, TerraformRunner  # noqa: PLC0415
    from generator.synth import CdktfSynthesizer  # noqa: PLC0415

    runtime = runtime or RuntimeConfig.from_env()
    endpoint_url = endpoint_url or os.environ.get(ENDPOINT_URL_VARIABLE) or None
    region = region or runtime.region
    session = boto3.session.Session(region_name=region)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    work_root = os.environ.get(WORK_ROOT_VARIABLE)
    # each service its own clients (built on first use): worker threads never share one
    files = DeploymentFiles(lambda: client("s3"))
    store = DynamoDBDeploymentStore(runtime.catalog_table_name, lambda: client("dynamodb"))
    if shared is not None:
        return GeneratorService(
            runtime=runtime,
            files=files,
            store=store,
            synthesizer=shared.synthesizer,
            runner=shared.runner,
            actions=shared.actions,
            work_root=shared.work_root,
        )
    timeout = float(os.environ.get(TERRAFORM_TIMEOUT_VARIABLE, DEFAULT_TIMEOUT_SECONDS))
    enabled = terraform != "off"
    setup = terraform_setup.prepare(Path(work_root) / "terraform" if work_root else None) if enabled else None
    return GeneratorService(
        runtime=runtime,
        files=files,
        store=store,
        synthesizer=CdktfSynthesizer(endpoint_url=endpoint_url),
        runner=TerraformRunner(
            None if terraform in ("auto", "off") else terraform, setup=setup, timeout_seconds=timeout, enabled=enabled
        ),
        actions=AwsPostApplyActions(client),
        work_root=Path(work_root) if work_root else None,
    )


_service: GeneratorService | None = None


def get_service() -> GeneratorService:
    """The process-wide service, built on the first invocation and reused while the Lambda is warm."""
    global _service  # noqa: PLW0603  (one service per warm Lambda, by design)
    if _service is None:
        _service = build_service()
    return _service


def handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    """Lambda handler (SQS event source with ``ReportBatchItemFailures``)."""
    deadline = None
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        deadline = time.monotonic() + remaining() / 1000.0 - RESERVE_SECONDS
    service = get_service()
    response = handle_batch(service, event, deadline)
    failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
    if failed:
        import boto3  # noqa: PLC0415

        region, endpoint_url = service.runtime.region, os.environ.get(ENDPOINT_URL_VARIABLE)
        queue = DeploymentQueue(
            service.runtime.generator_queue_url,
            lambda: boto3.client("sqs", region_name=region, endpoint_url=endpoint_url),
        )
        retry_sooner(queue, event, failed)
    return response


def retry_sooner(queue: DeploymentQueue, event: dict[str, Any], failed: set[str]) -> None:
    """Make each failed record visible again in :data:`RETRY_AFTER_SECONDS` instead of the queue's timeout."""
    for record in event.get("Records", []):
        if record.get("messageId") not in failed or not record.get("receiptHandle"):
            continue
        try:
            queue.retry_in(str(record["receiptHandle"]), RETRY_AFTER_SECONDS)
        except Exception:
            # the record is retried anyway, only later: nothing more to do than say so
            logger.warning("could not shorten a failed record's visibility", exc_info=True)
