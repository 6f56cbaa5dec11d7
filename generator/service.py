"""The generator's logic: one deployment file in, one synthesized (and applied) component out.

``GeneratorService.process(bucket, key)`` reads and validates the file, claims it for its
component (ordering and idempotency), synthesizes the stack, uploads the Terraform JSON, and, when
a Terraform binary is available, applies or destroys it with the hooks around apply. Every step is
recorded on the deployment item in the catalog with a conditional update. All collaborators are
injected, so the same logic runs in Lambda, in the local worker and in tests.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from broker_contract.arns import delivery_problems
from broker_contract.catalog import component_key, deployment_key
from broker_contract.config import RuntimeConfig
from broker_contract.models import (
    ConsumerDeployment,
    DeploymentAction,
    DeploymentStatus,
    ProducerDeployment,
)
from broker_contract.names import DEPLOYMENT_ID_PATTERN, artifact_key
from broker_contract.records import DeploymentRecord, StatusChange, utc_now
from component_stacks.hooks import ComponentHooks
from generator.runner import StateLocked
from generator.synth import AnyDeployment, HttpsAuthReference, SynthesizedStack

logger = logging.getLogger(__name__)

S = DeploymentStatus
ERROR_MAX_CHARS = 2000
#: the longest one run may hold a deployment (the generator Lambda's timeout plus Terraform's interrupt grace):
#: a lease or a state lock older than this was left by a run that died
MAX_RUN_SECONDS = 960.0
#: the members of ``broker_contract.models.Deployment``, by their ``kind`` tag
_MODELS = {"producer": ProducerDeployment, "consumer": ConsumerDeployment}

#: statuses a deployment may be in before each transition; anything else means someone got there first
ALLOWED_FROM: dict[DeploymentStatus, frozenset[DeploymentStatus]] = {
    S.SYNTHESIZED: frozenset({S.PENDING, S.FAILED, S.SYNTHESIZED, S.APPLYING, S.DESTROYING}),
    S.APPLYING: frozenset({S.SYNTHESIZED}),
    S.DESTROYING: frozenset({S.SYNTHESIZED}),
    S.DEPLOYED: frozenset({S.APPLYING}),
    S.DESTROYED: frozenset({S.DESTROYING}),
    S.FAILED: frozenset({S.PENDING, S.FAILED, S.SYNTHESIZED, S.APPLYING, S.DESTROYING}),
    S.SUPERSEDED: frozenset({S.PENDING, S.FAILED, S.SYNTHESIZED, S.APPLYING, S.DESTROYING}),
}


class Outcome(StrEnum):
    """What became of one deployment file."""

    #: processed to its final status for this environment (deployed, destroyed, or synthesized without terraform)
    DONE = "done"
    #: nothing to do: the same file again, an older file, an object that is gone
    IGNORED = "ignored"
    #: the file can never succeed (invalid, wrong environment); recorded as failed, not retried
    REJECTED = "rejected"
    #: failed for now (terraform, AWS); recorded as failed and retried by SQS, then the DLQ
    RETRY = "retry"


@dataclass(frozen=True)
class ProcessResult:
    """Outcome of ``process``: the handler reports ``retry`` results as batch item failures."""

    outcome: Outcome
    deployment_id: str | None = None
    status: DeploymentStatus | None = None
    detail: str | None = None

    @property
    def retry(self) -> bool:
        return self.outcome is Outcome.RETRY


class Synthesizer(Protocol):
    """Builds and writes a component stack (see ``generator.synth.CdktfSynthesizer``)."""

    def hooks(self, deployment: AnyDeployment, runtime: RuntimeConfig) -> ComponentHooks: ...

    def synthesize(self, deployment: AnyDeployment, runtime: RuntimeConfig, outdir: Path) -> SynthesizedStack: ...


class Runner(Protocol):
    """Runs Terraform (see ``generator.runner.TerraformRunner``)."""

    @property
    def available(self) -> bool: ...

    def init(self, workdir: Path, deadline: float | None = None) -> None: ...

    def apply(self, workdir: Path, deadline: float | None = None) -> None: ...

    def destroy(self, workdir: Path, deadline: float | None = None) -> None: ...

    def output(self, workdir: Path, deadline: float | None = None) -> dict[str, Any]: ...

    def force_unlock(self, workdir: Path, lock_id: str, deadline: float | None = None) -> None: ...


class PostApplyActions(Protocol):
    """AWS calls around apply (see ``generator.aws_actions.AwsPostApplyActions``)."""

    def ensure_api_resource(self, api_id: str, root_resource_id: str, path: str) -> str: ...

    def redeploy_stage(self, api_id: str, stage_name: str, description: str) -> str: ...

    def sync_connection(self, connection_name: str, auth: HttpsAuthReference) -> None: ...

    def enable_rule(self, rule_name: str, event_bus_name: str) -> None: ...

    def check_queue_encryption(self, queue_arn: str) -> str | None: ...

    def converge_queue_policy(
        self,
        queue_arn: str,
        statement: dict[str, Any],
        *,
        rule_prefix: str,
        needed: bool,
        event_bus_name: str,
        catalog_table: str,
    ) -> bool: ...


class InvalidDeploymentFile(ValueError):
    """The file is not a deployment this generator may process; ``deployment_id`` when readable."""

    def __init__(self, reason: str, deployment_id: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.deployment_id = deployment_id


def parse_deployment_file(body: bytes) -> AnyDeployment:
    """Validate a deployment file; raises :class:`InvalidDeploymentFile` naming each field and rule."""
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InvalidDeploymentFile(f"not a JSON document: {error}", None) from error
    deployment_id = _readable_deployment_id(raw)
    if not isinstance(raw, dict):
        raise InvalidDeploymentFile("invalid deployment file: (file): must be a JSON object", None)
    # validating against the one model named by ``kind`` keeps the tag out of each error's field path
    model: Any = _MODELS.get(str(raw.get("kind")))
    if model is None:
        found = "missing" if "kind" not in raw else f"{raw['kind']!r}"
        raise InvalidDeploymentFile(
            f"invalid deployment file: kind: must be 'producer' or 'consumer' (found {found})", deployment_id
        )
    try:
        return model.model_validate(raw)  # type: ignore[no-any-return]
    except ValidationError as error:
        raise InvalidDeploymentFile(validation_reason(error), deployment_id) from error


def _readable_deployment_id(raw: Any) -> str | None:
    if isinstance(raw, dict):
        value = raw.get("deployment_id")
        if isinstance(value, str) and re.fullmatch(DEPLOYMENT_ID_PATTERN, value):
            return value
    return None


def validation_reason(error: ValidationError) -> str:
    """``field.path: message`` for every problem, joined with ``; ``."""
    problems = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "(file)"
        problems.append(f"{location}: {item['msg']}")
    return _clip("invalid deployment file: " + "; ".join(problems))


def _clip(text: str, limit: int = ERROR_MAX_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def outputs_as_strings(outputs: dict[str, Any]) -> dict[str, str]:
    """Terraform outputs as the record's ``{name: str}`` (non-strings as compact JSON)."""
    return {
        name: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
        for name, value in outputs.items()
    }


def _is_conditional_failure(error: Exception) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _is_missing_object(error: Exception) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")


class GeneratorService:
    """Processes deployment files; see the module docstring for the flow.

    ``s3``: boto3 S3 client (reads files, writes artifacts); ``table``: boto3 DynamoDB Table of the
    catalog; ``runner``: Terraform (``available`` False stops each deployment at ``synthesized``);
    ``actions``: AWS calls around apply; ``clock``: now in UTC; ``work_root``: where stacks are
    synthesized (Lambda: /tmp).
    """

    def __init__(
        self,
        *,
        runtime: RuntimeConfig,
        s3: Any,
        table: Any,
        synthesizer: Synthesizer,
        runner: Runner,
        actions: PostApplyActions,
        clock: Callable[[], datetime] = utc_now,
        work_root: Path | None = None,
        run_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.s3 = s3
        self.table = table
        self.synthesizer = synthesizer
        self.runner = runner
        self.actions = actions
        self.clock = clock
        self.work_root = work_root
        #: who holds a deployment's lease: one id per service (per Lambda container or worker thread)
        self.run_id = run_id or uuid.uuid4().hex

    # ---- the flow -------------------------------------------------------------------------------

    def process(self, bucket: str, key: str, deadline: float | None = None) -> ProcessResult:
        """Handle one deployment file; never raises for a bad file, returns ``RETRY`` for transient failures.

        ``deadline`` (a ``time.monotonic()`` value) is when this run must be over (the Lambda's remaining
        time): Terraform commands get only what is left, and the deployment's lease expires with it.
        """
        try:
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except Exception as error:
            if _is_missing_object(error):
                logger.warning("deployment file is gone", extra={"bucket": bucket, "key": key})
                return ProcessResult(Outcome.IGNORED, detail=f"s3://{bucket}/{key} does not exist")
            raise
        try:
            deployment = parse_deployment_file(body)
            self._check_environment(deployment)
            self._check_delivery(deployment)
        except InvalidDeploymentFile as invalid:
            return self._reject(invalid, bucket, key)

        self._ensure_record(deployment, bucket, key)
        claim = self._claim(deployment)
        if claim is not None:
            return claim
        lease_seconds = MAX_RUN_SECONDS if deadline is None else max(deadline - time.monotonic(), 0.0) + 60.0
        if not self._take_lease(deployment.deployment_id, lease_seconds):
            # another delivery of the same file is running it now: this copy comes back later, when it is done
            detail = "another run holds this deployment's lease"
            return ProcessResult(Outcome.RETRY, deployment.deployment_id, None, detail)
        work_dir = Path(tempfile.mkdtemp(prefix=f"{deployment.deployment_id}-", dir=self.work_root))
        try:
            return self._run(deployment, work_dir, deadline)
        finally:
            shutil.rmtree(work_dir, ignore_errors=True)
            self._release_lease(deployment.deployment_id)

    def _check_environment(self, deployment: AnyDeployment) -> None:
        if deployment.environment != self.runtime.environment:
            raise InvalidDeploymentFile(
                f"environment: the file is for {deployment.environment!r}, "
                f"this generator serves {self.runtime.environment!r}",
                deployment.deployment_id,
            )

    def _check_delivery(self, deployment: AnyDeployment) -> None:
        # a target EventBridge can never reach would fail every retry at synthesis: refuse it once, with the reason
        if isinstance(deployment, ConsumerDeployment) and deployment.action is DeploymentAction.DEPLOY:
            problems = delivery_problems(deployment, self.runtime.region)
            if problems:
                raise InvalidDeploymentFile("; ".join(problems), deployment.deployment_id)

    def _reject(self, invalid: InvalidDeploymentFile, bucket: str, key: str) -> ProcessResult:
        logger.warning(
            "rejected deployment file",
            extra={"bucket": bucket, "key": key, "deployment_id": invalid.deployment_id, "reason": invalid.reason},
        )
        if invalid.deployment_id is not None:
            self._transition(invalid.deployment_id, S.FAILED, detail=invalid.reason, error=invalid.reason)
        return ProcessResult(Outcome.REJECTED, invalid.deployment_id, S.FAILED, invalid.reason)

    def _run(self, deployment: AnyDeployment, work_dir: Path, deadline: float | None) -> ProcessResult:
        deployment_id = deployment.deployment_id
        try:
            hooks = self.synthesizer.hooks(deployment, self.runtime)
            stack = self.synthesizer.synthesize(deployment, self.runtime, work_dir / "out")
        except Exception as error:
            # a deterministic bug fails again on every retry and then rests in the DLQ, where it is seen
            logger.exception("synthesis failed", extra={"deployment_id": deployment_id})
            return self._fail(deployment_id, f"synthesis failed: {error}")
        key = artifact_key(deployment.component_id, deployment_id)
        self.s3.put_object(
            Bucket=self.runtime.artifact_bucket_name,
            Key=key,
            Body=stack.file.read_bytes(),
            ContentType="application/json",
        )
        instructions = hooks.instructions if deployment.action is DeploymentAction.DEPLOY else None
        if not self.runner.available:
            self._transition(
                deployment_id,
                S.SYNTHESIZED,
                detail="terraform not available: stopped after synthesis",
                artifact_key=key,
                instructions=instructions,
            )
            return ProcessResult(Outcome.DONE, deployment_id, S.SYNTHESIZED)
        self._transition(deployment_id, S.SYNTHESIZED, artifact_key=key)
        return self._apply(deployment, stack, hooks, instructions, deadline)

    def _apply(
        self,
        deployment: AnyDeployment,
        stack: SynthesizedStack,
        hooks: ComponentHooks,
        instructions: str | None,
        deadline: float | None,
    ) -> ProcessResult:
        deployment_id = deployment.deployment_id
        destroying = deployment.action is DeploymentAction.DESTROY
        running, done = (S.DESTROYING, S.DESTROYED) if destroying else (S.APPLYING, S.DEPLOYED)
        try:
            if hooks.parent_resource_path:
                # destroy needs it too: the stack's data source is read before anything is removed
                self.actions.ensure_api_resource(
                    self.runtime.producer_api_id, self.runtime.producer_api_root_resource_id, hooks.parent_resource_path
                )
            if not destroying and hooks.check_queue_encryption:
                note = self.actions.check_queue_encryption(hooks.check_queue_encryption)
                instructions = "\n\n".join(text for text in (instructions, note) if text) or None
            self.runner.init(stack.directory, deadline)
            newer = self._newer_sequence(deployment)
            if newer is not None:
                return self._supersede(deployment_id, newer)
            self._transition(deployment_id, running)
            self._terraform(stack, destroying, deadline)
            outputs = {} if destroying else outputs_as_strings(self.runner.output(stack.directory, deadline))
            if (shared := hooks.shared_queue_policy) is not None:
                self.actions.converge_queue_policy(
                    shared.queue_arn,
                    shared.statement,
                    rule_prefix=shared.rule_prefix,
                    needed=not destroying,
                    event_bus_name=self.runtime.event_bus_name,
                    catalog_table=self.runtime.catalog_table_name,
                )
            if hooks.redeploy_api_stage:
                self.actions.redeploy_stage(
                    self.runtime.producer_api_id,
                    self.runtime.producer_api_stage_name,
                    f"{deployment.component_id} {deployment.action.value} {deployment_id}",
                )
            if not destroying and hooks.connection_name and hooks.auth is not None:
                self.actions.sync_connection(hooks.connection_name, hooks.auth)
                if hooks.rule_to_enable:
                    self.actions.enable_rule(hooks.rule_to_enable, self.runtime.event_bus_name)
        except Exception as error:
            logger.exception("terraform step failed", extra={"deployment_id": deployment_id})
            return self._fail(deployment_id, str(error))
        self._transition(deployment_id, done, outputs=outputs, instructions=instructions)
        return ProcessResult(Outcome.DONE, deployment_id, done)

    def _terraform(self, stack: SynthesizedStack, destroying: bool, deadline: float | None) -> None:
        """Apply or destroy; a state lock left by a run that died (older than any run lives) is released once."""
        command = self.runner.destroy if destroying else self.runner.apply
        try:
            command(stack.directory, deadline)
        except StateLocked as locked:
            age = None if locked.created is None else (self.clock() - locked.created).total_seconds()
            if age is None or age < MAX_RUN_SECONDS:
                raise
            logger.warning("releasing a stale state lock", extra={"lock_id": locked.lock_id, "age_seconds": age})
            self.runner.force_unlock(stack.directory, locked.lock_id, deadline)
            command(stack.directory, deadline)

    def _fail(self, deployment_id: str, error_text: str) -> ProcessResult:
        text = _clip(error_text)
        self._transition(deployment_id, S.FAILED, detail=text, error=text)
        return ProcessResult(Outcome.RETRY, deployment_id, S.FAILED, text)

    def _supersede(self, deployment_id: str, newer_sequence: int) -> ProcessResult:
        detail = f"sequence {newer_sequence} of this component was handled already"
        self._transition(deployment_id, S.SUPERSEDED, detail=detail)
        return ProcessResult(Outcome.IGNORED, deployment_id, S.SUPERSEDED, detail)

    # ---- ordering and idempotency ----------------------------------------------------------------

    def _claim(self, deployment: AnyDeployment) -> ProcessResult | None:
        """Record this file as the component's newest; a result when it must not be processed."""
        try:
            self.table.update_item(
                Key=component_key(deployment.component_id),
                UpdateExpression="SET handled_sequence = :seq, handled_deployment_id = :id, handled_at = :now",
                ConditionExpression="attribute_not_exists(handled_sequence) OR handled_sequence < :seq",
                ExpressionAttributeValues={
                    ":seq": deployment.sequence,
                    ":id": deployment.deployment_id,
                    ":now": self.clock().isoformat(),
                },
            )
            return None
        except Exception as error:
            if not _is_conditional_failure(error):
                raise
        item = self.table.get_item(Key=component_key(deployment.component_id), ConsistentRead=True).get("Item", {})
        handled = int(item.get("handled_sequence", 0))
        if handled == deployment.sequence and item.get("handled_deployment_id") == deployment.deployment_id:
            status = self._status(deployment.deployment_id)
            if status is not None and status in self._rerunnable():
                # the same file again after a failure or an interrupted run: this is the retry
                logger.info("retrying deployment", extra={"deployment_id": deployment.deployment_id})
                return None
            logger.info("duplicate deployment file", extra={"deployment_id": deployment.deployment_id})
            return ProcessResult(Outcome.IGNORED, deployment.deployment_id, status, "already handled")
        return self._supersede(deployment.deployment_id, handled)

    def _rerunnable(self) -> frozenset[DeploymentStatus]:
        statuses = {S.PENDING, S.FAILED, S.APPLYING, S.DESTROYING}
        if self.runner.available:
            statuses.add(S.SYNTHESIZED)
        return frozenset(statuses)

    def _newer_sequence(self, deployment: AnyDeployment) -> int | None:
        """A newer sequence claimed while this one was synthesizing (checked right before apply)."""
        item = self.table.get_item(Key=component_key(deployment.component_id), ConsistentRead=True).get("Item", {})
        handled = int(item.get("handled_sequence", 0))
        return handled if handled > deployment.sequence else None

    def _status(self, deployment_id: str) -> DeploymentStatus | None:
        item = self.table.get_item(Key=deployment_key(deployment_id), ConsistentRead=True).get("Item")
        return DeploymentStatus(item["status"]) if item and "status" in item else None

    def _take_lease(self, deployment_id: str, seconds: float) -> bool:
        """Hold the deployment until ``seconds`` from now, unless a live lease of another run holds it."""
        now = self.clock()
        try:
            self.table.update_item(
                Key=deployment_key(deployment_id),
                UpdateExpression="SET lease_owner = :me, lease_expires_at = :until",
                ConditionExpression=(
                    "attribute_not_exists(lease_expires_at) OR lease_expires_at < :now OR lease_owner = :me"
                ),
                ExpressionAttributeValues={
                    ":me": self.run_id,
                    ":now": now.isoformat(),
                    ":until": (now + timedelta(seconds=seconds)).isoformat(),
                },
            )
        except Exception as error:
            if not _is_conditional_failure(error):
                raise
            logger.info("deployment leased by another run", extra={"deployment_id": deployment_id})
            return False
        return True

    def _release_lease(self, deployment_id: str) -> None:
        try:
            self.table.update_item(
                Key=deployment_key(deployment_id),
                UpdateExpression="REMOVE lease_owner, lease_expires_at",
                ConditionExpression="lease_owner = :me",
                ExpressionAttributeValues={":me": self.run_id},
            )
        except Exception as error:
            if not _is_conditional_failure(error):
                raise

    # ---- the deployment record --------------------------------------------------------------------

    def _ensure_record(self, deployment: AnyDeployment, bucket: str, key: str) -> None:
        """Create the record when the file did not come through the portal (the portal's record wins)."""
        now = self.clock()
        record = DeploymentRecord(
            deployment_id=deployment.deployment_id,
            kind=deployment.kind,
            component_id=deployment.component_id,
            action=deployment.action,
            sequence=deployment.sequence,
            requested_by=deployment.requested_by,
            requested_at=deployment.requested_at,
            updated_at=now,
            file_bucket=bucket,
            file_key=key,
            event_type=deployment.event.event_type,
            version=deployment.event.version,
            subscription_id=deployment.subscription_id if isinstance(deployment, ConsumerDeployment) else None,
            history=[StatusChange(status=S.PENDING, at=now, detail="recorded by the generator")],
        )
        try:
            self.table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(pk)")
        except Exception as error:
            if not _is_conditional_failure(error):
                raise

    def _transition(
        self,
        deployment_id: str,
        status: DeploymentStatus,
        *,
        detail: str | None = None,
        error: str | None = None,
        artifact_key: str | None = None,
        instructions: str | None = None,
        outputs: dict[str, str] | None = None,
    ) -> bool:
        """Move the deployment to ``status`` if it is in one of ``ALLOWED_FROM[status]``; False otherwise."""
        now = self.clock()
        change = StatusChange(status=status, at=now, detail=detail).model_dump(mode="json", exclude_none=True)
        sets = [
            "#status = :status",
            "updated_at = :now",
            "history = list_append(if_not_exists(history, :empty), :change)",
        ]
        values: dict[str, Any] = {
            ":status": status.value,
            ":now": change["at"],
            ":change": [change],
            ":empty": [],
        }
        removes: list[str] = []
        optional = {"artifact_key": artifact_key, "instructions": instructions, "outputs": outputs}
        for name, value in optional.items():
            if value is not None:
                sets.append(f"{name} = :{name}")
                values[f":{name}"] = value
        if error is not None:
            sets.append("#error = :error")
            values[":error"] = error
        else:
            removes.append("#error")
        allowed = sorted(state.value for state in ALLOWED_FROM[status])
        for index, state in enumerate(allowed):
            values[f":from{index}"] = state
        condition = f"attribute_exists(pk) AND #status IN ({', '.join(f':from{i}' for i in range(len(allowed)))})"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self.table.update_item(
                Key=deployment_key(deployment_id),
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#status": "status", "#error": "error"},
                ExpressionAttributeValues=values,
            )
        except Exception as failure:
            if not _is_conditional_failure(failure):
                raise
            logger.warning("status change refused", extra={"deployment_id": deployment_id, "status": status.value})
            return False
        logger.info("deployment status", extra={"deployment_id": deployment_id, "status": status.value})
        return True


def describe(results: Iterable[ProcessResult]) -> dict[str, int]:
    """Count of results per outcome, for the handler's log line."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    return counts
