"""Lambda entry point: SQS messages carrying S3 notifications of new deployment files.

Each record is processed on its own; records that failed transiently are returned as
``batchItemFailures`` so SQS retries only them (after ``maxReceiveCount`` receives they move to the
dead-letter queue of the core stack). Invalid files are recorded as failed and not retried.
The module imports nothing heavy: boto3 clients and the cdktf machinery are built on first use
and kept for the next invocations of a warm Lambda.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from broker_contract.config import RuntimeConfig
from generator.service import GeneratorService, Outcome, ProcessResult, describe
from generator.settings import ENDPOINT_URL_VARIABLE, TERRAFORM_TIMEOUT_VARIABLE, WORK_ROOT_VARIABLE

logger = logging.getLogger(__name__)


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


def handle_batch(service: GeneratorService, event: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Process every record of an SQS event; the partial batch response naming the records to retry."""
    failures: list[dict[str, str]] = []
    results: list[ProcessResult] = []
    for message_id, body in _records(event):
        try:
            files = notifications(body)
        except MalformedMessage as error:
            # retrying cannot fix it; the message is dropped after being logged
            logger.error("dropping malformed message", extra={"message_id": message_id, "reason": str(error)})
            continue
        retry = False
        for file in files:
            try:
                result = service.process(file.bucket, file.key)
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
) -> GeneratorService:
    """The real service: boto3 clients, cdktf synthesizer, Terraform (all created lazily).

    ``terraform``: ``auto`` (the one on the PATH, if any), ``off`` (stop at ``synthesized``), or a path.
    """
    import boto3  # noqa: PLC0415  (kept out of the module import: tests patch AWS before any client)

    from generator.aws_actions import AwsPostApplyActions  # noqa: PLC0415
    from generator.runner import DEFAULT_TIMEOUT_SECONDS, TerraformRunner  # noqa: PLC0415
    from generator.synth import CdktfSynthesizer  # noqa: PLC0415

    runtime = runtime or RuntimeConfig.from_env()
    endpoint_url = endpoint_url or os.environ.get(ENDPOINT_URL_VARIABLE) or None
    region = region or runtime.region
    session = boto3.session.Session(region_name=region)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    work_root = os.environ.get(WORK_ROOT_VARIABLE)
    timeout = float(os.environ.get(TERRAFORM_TIMEOUT_VARIABLE, DEFAULT_TIMEOUT_SECONDS))
    return GeneratorService(
        runtime=runtime,
        s3=client("s3"),
        table=session.resource("dynamodb", endpoint_url=endpoint_url).Table(runtime.catalog_table_name),
        synthesizer=CdktfSynthesizer(endpoint_url=endpoint_url),
        runner=TerraformRunner(
            None if terraform in ("auto", "off") else terraform, timeout_seconds=timeout, enabled=terraform != "off"
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


def handler(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str]]]:
    """Lambda handler (SQS event source with ``ReportBatchItemFailures``)."""
    del context
    return handle_batch(get_service(), event)
