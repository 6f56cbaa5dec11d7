"""The generator's executor: one deployment file in, one synthesized (and applied) component out.

``GeneratorService.process(bucket, key)`` reads the file, asks ``generator.plan`` what to do with it
(a :class:`generator.plan.Plan`: plain data), then carries the plan out: it claims the file for its
component (ordering and idempotency), synthesizes the stack, uploads the Terraform JSON and, when a
Terraform binary is available, applies or destroys it with the AWS calls around apply. Every step
is recorded on the deployment record through the deployment store. All collaborators are typed
adapters injected here, so the same logic runs in Lambda, in the local worker and in tests.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from broker_contract.config import RuntimeConfig
from broker_contract.deployment_store import (
    ClaimOutcome,
    DeploymentExists,
    DeploymentStore,
    LeaseHeld,
    StatusUpdate,
    TransitionRefused,
)
from broker_contract.models import AnyDeployment, DeploymentStatus, HttpsAuth
from broker_contract.records import DeploymentRecord, utc_now
from component_stacks.hooks import ComponentHooks
from generator.files import DeploymentFileMissing
from generator.plan import (
    LEASE_GRACE_SECONDS,
    MAX_RUN_SECONDS,
    CheckNewerSequence,
    CheckQueueEncryption,
    ClaimSequence,
    ConvergeQueuePolicy,
    EnableRule,
    EnsureApiResource,
    FileLocation,
    FinalStep,
    Plan,
    ReadOutputs,
    RecordPending,
    RedeployStage,
    Reject,
    ReleaseLease,
    RemoveWorkDirectory,
    Step,
    SyncConnection,
    Synthesize,
    TakeLease,
    TerraformInit,
    TerraformRun,
    Transition,
    Unbuildable,
    UploadArtifact,
    clip,
    plan_file,
)
from generator.runner import StateLocked
from generator.synth import SynthesizedStack

logger = logging.getLogger(__name__)

S = DeploymentStatus


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


class Files(Protocol):
    """Deployment files and artifacts (see ``generator.files.DeploymentFiles``)."""

    def read(self, bucket: str, key: str) -> bytes: ...

    def put_artifact(self, bucket: str, key: str, body: bytes) -> None: ...


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

    def sync_connection(self, connection_name: str, auth: HttpsAuth) -> None: ...

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


def outputs_as_strings(outputs: dict[str, Any]) -> dict[str, str]:
    """Terraform outputs as the record's ``{name: str}`` (non-strings as compact JSON)."""
    return {
        name: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
        for name, value in outputs.items()
    }


@dataclass
class _Run:
    """What one execution of a plan gathers on its way."""

    deployment: AnyDeployment
    deadline: float | None
    cleanup: ExitStack
    instructions: str | None
    #: the plan's steps that run whatever happens, once the lease is held
    final_steps: tuple[FinalStep, ...] = ()
    outputs: dict[str, str] = field(default_factory=dict)
    stack: SynthesizedStack | None = None
    status: DeploymentStatus | None = None
    work_dir: Path | None = None


class GeneratorService:
    """Processes deployment files: plans each one (``generator.plan``), then executes the plan.

    ``files``: deployment files and artifacts (S3); ``store``: the deployment records
    (``broker_contract.deployment_store``); ``runner``: Terraform (``available`` False stops each
    deployment at ``synthesized``); ``actions``: AWS calls around apply; ``clock``: now in UTC;
    ``work_root``: where stacks are synthesized (Lambda: /tmp).
    """

    def __init__(
        self,
        *,
        runtime: RuntimeConfig,
        files: Files,
        store: DeploymentStore,
        synthesizer: Synthesizer,
        runner: Runner,
        actions: PostApplyActions,
        clock: Callable[[], datetime] = utc_now,
        work_root: Path | None = None,
        run_id: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.files = files
        self.store = store
        self.synthesizer = synthesizer
        self.runner = runner
        self.actions = actions
        self.clock = clock
        self.work_root = work_root
        #: who holds a deployment's lease: one id per service (per Lambda container or worker thread)
        self.run_id = run_id or uuid.uuid4().hex

    # ---- plan, then act ---------------------------------------------------------------------------

    def plan(self, body: bytes, location: FileLocation) -> Plan:
        """What :meth:`process` does with a file of this content (no side effect)."""
        return plan_file(body, location, self.runtime, self.synthesizer.hooks, terraform=self.runner.available)

    def process(self, bucket: str, key: str, deadline: float | None = None) -> ProcessResult:
        """Handle one deployment file; never raises for a bad file, returns ``RETRY`` for transient failures.

        ``deadline`` (a ``time.monotonic()`` value) is when this run must be over (the Lambda's remaining
        time): Terraform commands get only what is left, and the deployment's lease expires with it.
        """
        try:
            body = self.files.read(bucket, key)
        except DeploymentFileMissing as missing:
            logger.warning("deployment file is gone", extra={"bucket": bucket, "key": key})
            return ProcessResult(Outcome.IGNORED, detail=str(missing))
        return self.execute(self.plan(body, FileLocation(bucket, key)), deadline)

    def execute(self, plan: Plan, deadline: float | None = None) -> ProcessResult:
        """Carry ``plan`` out, phase by phase; the first step that ends the run gives the result."""
        if plan.deployment is None:
            (reject,) = (step for phase in plan.phases for step in phase.steps if isinstance(step, Reject))
            return self._reject(reject, plan.location)
        deployment_id = plan.deployment.deployment_id
        with ExitStack() as cleanup:
            run = _Run(plan.deployment, deadline, cleanup, plan.instructions, plan.cleanup)
            for phase in plan.phases:
                for step in phase.steps:
                    try:
                        result = self._step(step, run)
                    except Exception as error:
                        if phase.failure_prefix is None:
                            raise
                        # a deterministic bug fails again on every retry and then rests in the DLQ, where it is seen
                        logger.exception(f"{phase.name} step failed", extra={"deployment_id": deployment_id})
                        return self._fail(deployment_id, f"{phase.failure_prefix}{error}")
                    if result is not None:
                        return result
            return ProcessResult(Outcome.DONE, deployment_id, run.status)

    def _step(self, step: Step, run: _Run) -> ProcessResult | None:
        """Execute one step; a result when the run ends here."""
        deployment = run.deployment
        match step:
            case RecordPending(location=location):
                self._record_pending(deployment, location)
            case ClaimSequence():
                return self._claim(deployment, step)
            case TakeLease():
                return self._take_lease(run)
            case Synthesize():
                run.work_dir = Path(tempfile.mkdtemp(prefix=f"{deployment.deployment_id}-", dir=self.work_root))
                run.stack = self.synthesizer.synthesize(deployment, self.runtime, run.work_dir / "out")
            case Unbuildable(reason=reason):
                raise RuntimeError(reason)
            case UploadArtifact(bucket=bucket, key=key):
                self.files.put_artifact(bucket, key, self._stack(run).file.read_bytes())
            case Transition():
                update = StatusUpdate(
                    step.status,
                    detail=step.detail,
                    artifact_key=step.artifact_key,
                    instructions=run.instructions if step.instructions else None,
                    outputs=run.outputs if step.outputs else None,
                )
                self._transition(deployment.deployment_id, update)
                run.status = step.status
            case EnsureApiResource(api_id=api_id, root_resource_id=root, path=path):
                self.actions.ensure_api_resource(api_id, root, path)
            case CheckQueueEncryption(queue_arn=queue_arn):
                note = self.actions.check_queue_encryption(queue_arn)
                run.instructions = "\n\n".join(text for text in (run.instructions, note) if text) or None
            case TerraformInit():
                self.runner.init(self._stack(run).directory, run.deadline)
            case CheckNewerSequence(component_id=component_id, sequence=sequence):
                newer = self.store.newer_sequence(component_id, sequence)
                if newer is not None:
                    return self._supersede(deployment.deployment_id, newer)
            case TerraformRun(command=command):
                self._terraform(self._stack(run), command == "destroy", run.deadline)
            case ReadOutputs():
                run.outputs = outputs_as_strings(self.runner.output(self._stack(run).directory, run.deadline))
            case ConvergeQueuePolicy():
                self.actions.converge_queue_policy(
                    step.queue_arn,
                    step.statement,
                    rule_prefix=step.rule_prefix,
                    needed=step.needed,
                    event_bus_name=step.event_bus_name,
                    catalog_table=step.catalog_table,
                )
            case RedeployStage(api_id=api_id, stage_name=stage_name, description=description):
                self.actions.redeploy_stage(api_id, stage_name, description)
            case SyncConnection(connection_name=connection_name, auth=auth):
                self.actions.sync_connection(connection_name, auth)
            case EnableRule(rule_name=rule_name, event_bus_name=event_bus_name):
                self.actions.enable_rule(rule_name, event_bus_name)
            case Reject():
                raise AssertionError("a rejection is the whole plan")
        return None

    @staticmethod
    def _stack(run: _Run) -> SynthesizedStack:
        if run.stack is None:
            raise RuntimeError("the plan uses the stack before synthesizing it")
        return run.stack

    def _reject(self, reject: Reject, location: FileLocation) -> ProcessResult:
        logger.warning(
            "rejected deployment file",
            extra={
                "bucket": location.bucket,
                "key": location.key,
                "deployment_id": reject.deployment_id,
                "reason": reject.reason,
            },
        )
        if reject.deployment_id is not None:
            self._transition(reject.deployment_id, StatusUpdate(S.FAILED, detail=reject.reason, error=reject.reason))
        return ProcessResult(Outcome.REJECTED, reject.deployment_id, S.FAILED, reject.reason)

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
        text = clip(error_text)
        self._transition(deployment_id, StatusUpdate(S.FAILED, detail=text, error=text))
        return ProcessResult(Outcome.RETRY, deployment_id, S.FAILED, text)

    def _supersede(self, deployment_id: str, newer_sequence: int) -> ProcessResult:
        detail = f"sequence {newer_sequence} of this component was handled already"
        self._transition(deployment_id, StatusUpdate(S.SUPERSEDED, detail=detail))
        return ProcessResult(Outcome.IGNORED, deployment_id, S.SUPERSEDED, detail)

    # ---- the deployment record, through the store -------------------------------------------------

    def _record_pending(self, deployment: AnyDeployment, location: FileLocation) -> None:
        """Create the record when the file did not come through the portal (the portal's record wins)."""
        record = DeploymentRecord.for_file(
            deployment, location.bucket, location.key, self.clock(), detail="recorded by the generator"
        )
        with suppress(DeploymentExists):
            self.store.create(record)

    def _claim(self, deployment: AnyDeployment, step: ClaimSequence) -> ProcessResult | None:
        """Record this file as the component's newest; a result when it must not be processed."""
        deployment_id = deployment.deployment_id
        claim = self.store.claim(step.component_id, step.sequence, deployment_id, self.clock())
        if claim.outcome is ClaimOutcome.CLAIMED:
            return None
        if claim.outcome is ClaimOutcome.SUPERSEDED:
            return self._supersede(deployment_id, claim.handled_sequence)
        status = self.store.status(deployment_id)
        if status is not None and status in step.rerun_from:
            # the same file again after a failure or an interrupted run: this is the retry
            logger.info("retrying deployment", extra={"deployment_id": deployment_id})
            return None
        logger.info("duplicate deployment file", extra={"deployment_id": deployment_id})
        return ProcessResult(Outcome.IGNORED, deployment_id, status, "already handled")

    def _take_lease(self, run: _Run) -> ProcessResult | None:
        """Hold the deployment while this run lasts; a retry later while a live lease of another run holds it."""
        deployment_id = run.deployment.deployment_id
        if run.deadline is None:
            seconds = MAX_RUN_SECONDS
        else:
            seconds = max(run.deadline - time.monotonic(), 0.0) + LEASE_GRACE_SECONDS
        try:
            self.store.take_lease(deployment_id, self.run_id, seconds)
        except LeaseHeld:
            # another delivery of the same file is running it now: this copy comes back later, when it is done
            logger.info("deployment leased by another run", extra={"deployment_id": deployment_id})
            return ProcessResult(Outcome.RETRY, deployment_id, None, "another run holds this deployment's lease")
        # the plan's final steps, in the plan's order (an ExitStack runs its callbacks last in, first out)
        for step in reversed(run.final_steps):
            run.cleanup.callback(self._final_step, step, run)
        return None

    def _final_step(self, step: FinalStep, run: _Run) -> None:
        match step:
            case RemoveWorkDirectory():
                if run.work_dir is not None:
                    shutil.rmtree(run.work_dir, ignore_errors=True)
            case ReleaseLease():
                self.store.release_lease(run.deployment.deployment_id, self.run_id)

    def _transition(self, deployment_id: str, update: StatusUpdate) -> bool:
        """Apply ``update`` if the store allows it; False (logged) when another run got there first."""
        try:
            self.store.transition(deployment_id, update)
        except TransitionRefused:
            logger.warning(
                "status change refused", extra={"deployment_id": deployment_id, "status": update.status.value}
            )
            return False
        logger.info("deployment status", extra={"deployment_id": deployment_id, "status": update.status.value})
        return True


def describe(results: Iterable[ProcessResult]) -> dict[str, int]:
    """Count of results per outcome, for the handler's log line."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
    return counts
