"""What the generator will do for one deployment file, decided before anything is done (plan, then act).

``plan_file(body, location, runtime, hooks_for, terraform=...)`` reads and checks a deployment file and
returns a :class:`Plan`: plain data, a list of phases of steps (record, claim, lease, synthesize,
upload, init, the AWS calls around apply, apply or destroy, outputs, transitions). It makes no AWS
call and runs no Terraform; ``hooks_for`` (what the component needs around apply) is pure.
``generator.service.GeneratorService`` executes a plan; :func:`render` prints it
(``python -m generator plan <file>``), like Chalice's ``DisplayOnlyExecutor``.

Some steps decide at run time whether the run goes on (a claim that finds a newer sequence, a lease
held by another run, a newer sequence claimed while this one was synthesizing): the plan says so in
each step's text, and the executor stops there with the outcome the step names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from broker_contract.arns import delivery_problems
from broker_contract.config import RuntimeConfig
from broker_contract.models import (
    ALLOWED_FROM,
    AnyDeployment,
    ConsumerDeployment,
    DeploymentAction,
    DeploymentKind,
    DeploymentStatus,
    HttpsAuth,
    ProducerDeployment,
)
from broker_contract.names import DEPLOYMENT_ID_PATTERN, artifact_key
from generator.synth import HooksFor

S = DeploymentStatus
ERROR_MAX_CHARS = 2000
#: the longest one run may hold a deployment (the generator Lambda's timeout plus Terraform's interrupt grace):
#: a lease or a state lock older than this was left by a run that died
MAX_RUN_SECONDS = 960.0
#: what a lease lasts beyond the run's deadline (time to record the outcome)
LEASE_GRACE_SECONDS = 60.0
#: the members of ``broker_contract.models.Deployment``, by their ``kind`` tag
_MODELS = {"producer": ProducerDeployment, "consumer": ConsumerDeployment}


# ---- reading a file ------------------------------------------------------------------------------


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
    return clip("invalid deployment file: " + "; ".join(problems))


def clip(text: str, limit: int = ERROR_MAX_CHARS) -> str:
    """``text`` cut to ``limit`` characters (what a record's ``error`` holds)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_deployment(deployment: AnyDeployment, runtime: RuntimeConfig) -> None:
    """Refuse a file for another environment, or a target EventBridge can never reach (:class:`InvalidDeploymentFile`).

    Refused once, with the reason, rather than failing every retry at synthesis.
    """
    if deployment.environment != runtime.environment:
        raise InvalidDeploymentFile(
            f"environment: the file is for {deployment.environment!r}, this generator serves {runtime.environment!r}",
            deployment.deployment_id,
        )
    if isinstance(deployment, ConsumerDeployment) and deployment.action is DeploymentAction.DEPLOY:
        problems = delivery_problems(deployment, runtime.region)
        if problems:
            raise InvalidDeploymentFile("; ".join(problems), deployment.deployment_id)


# ---- steps ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileLocation:
    """Where a deployment file is: ``s3://bucket/key`` (no bucket: a local path, for a plan only)."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.bucket else self.key


@dataclass(frozen=True)
class Reject:
    """Record the file's deployment as ``failed`` with ``reason`` (when its id is readable); never retried."""

    reason: str
    deployment_id: str | None

    def describe(self) -> str:
        target = f"deployment {self.deployment_id} becomes failed" if self.deployment_id else "only logged (no id)"
        return f"reject the file, not retried: {target}: {self.reason}"


@dataclass(frozen=True)
class RecordPending:
    """Create the pending record when the file did not come through the portal (an existing record wins)."""

    location: FileLocation

    def describe(self) -> str:
        return f"record the deployment as pending unless it is recorded already (file {self.location})"


@dataclass(frozen=True)
class ClaimSequence:
    """Claim the file's sequence for its component (ordering and idempotency).

    An older sequence than the one handled: ``superseded``. The same file again: run again only from
    ``rerun_from``, otherwise ignored as already handled.
    """

    component_id: str
    sequence: int
    rerun_from: frozenset[DeploymentStatus]

    def describe(self) -> str:
        statuses = ", ".join(sorted(status.value for status in self.rerun_from))
        return (
            f"claim sequence {self.sequence} of {self.component_id}: stop as superseded if a newer one was handled; "
            f"the same file again runs only from {statuses}"
        )


@dataclass(frozen=True)
class TakeLease:
    """Hold the deployment until the run's deadline (plus a grace), or :data:`MAX_RUN_SECONDS` without one."""

    def describe(self) -> str:
        return (
            f"take the deployment's lease (the run's deadline + {LEASE_GRACE_SECONDS:g}s, or {MAX_RUN_SECONDS:g}s): "
            "stop and retry later while another run holds it"
        )


@dataclass(frozen=True)
class Synthesize:
    """Synthesize the component stack into a fresh work directory."""

    kind: DeploymentKind
    component_id: str

    def describe(self) -> str:
        return f"synthesize the {self.kind} stack of {self.component_id} (cdktf) into a new work directory"


@dataclass(frozen=True)
class Unbuildable:
    """The component's stack cannot be planned (its hooks failed): the run fails at synthesis."""

    reason: str

    def describe(self) -> str:
        return f"cannot synthesize: {self.reason}"


@dataclass(frozen=True)
class UploadArtifact:
    """Upload the synthesized ``cdk.tf.json`` to the artifact bucket."""

    bucket: str
    key: str

    def describe(self) -> str:
        return f"upload cdk.tf.json to s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class Transition:
    """Move the record to ``status`` (allowed-from check); ``outputs``/``instructions``: record the run's."""

    status: DeploymentStatus
    detail: str | None = None
    artifact_key: str | None = None
    instructions: bool = False
    outputs: bool = False

    def describe(self) -> str:
        recorded = [
            name
            for name, wanted in (
                ("artifact_key", self.artifact_key),
                ("instructions", self.instructions),
                ("outputs", self.outputs),
            )
            if wanted
        ]
        text = f"status {self.status.value}"
        if recorded:
            text += f", recording {', '.join(recorded)}"
        return text + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class EnsureApiResource:
    """Create the shared ``/<event_type>`` resource of the producers' API if it is missing."""

    api_id: str
    root_resource_id: str
    path: str

    def describe(self) -> str:
        return f"ensure API resource {self.path} of API {self.api_id}"


@dataclass(frozen=True)
class CheckQueueEncryption:
    """Check that EventBridge can use the target queue's key (a note for the owner when it cannot be checked)."""

    queue_arn: str

    def describe(self) -> str:
        return f"check the encryption of queue {self.queue_arn}"


@dataclass(frozen=True)
class TerraformInit:
    """``terraform init`` in the stack's directory."""

    def describe(self) -> str:
        return "terraform init"


@dataclass(frozen=True)
class CheckNewerSequence:
    """Stop as ``superseded`` when a newer sequence of the component was claimed during synthesis."""

    component_id: str
    sequence: int

    def describe(self) -> str:
        return f"stop as superseded if a sequence newer than {self.sequence} of {self.component_id} was claimed"


@dataclass(frozen=True)
class TerraformRun:
    """``terraform apply`` or ``destroy`` (a state lock left by a dead run is released once)."""

    command: Literal["apply", "destroy"]

    def describe(self) -> str:
        return f"terraform {self.command} (releasing a state lock older than {MAX_RUN_SECONDS:g}s once)"


@dataclass(frozen=True)
class ReadOutputs:
    """``terraform output -json``, kept as the record's string outputs."""

    def describe(self) -> str:
        return "terraform output -json (non-sensitive outputs, as strings)"


@dataclass(frozen=True)
class ConvergeQueuePolicy:
    """Make the broker's statement present (``needed``, or still used) or absent in a shared queue's policy."""

    queue_arn: str
    statement: dict[str, Any] = field(hash=False)
    rule_prefix: str = ""
    needed: bool = True
    event_bus_name: str = ""
    catalog_table: str = ""

    def describe(self) -> str:
        wanted = "present" if self.needed else "present only while a broker rule targets the queue"
        return f"converge statement {self.statement.get('Sid')} of queue {self.queue_arn}'s policy ({wanted})"


@dataclass(frozen=True)
class RedeployStage:
    """A new deployment of the producers' shared API stage."""

    api_id: str
    stage_name: str
    description: str

    def describe(self) -> str:
        return f"redeploy stage {self.stage_name} of API {self.api_id} ({self.description})"


@dataclass(frozen=True)
class SyncConnection:
    """Copy the consumer's secret into its EventBridge connection."""

    connection_name: str
    auth: HttpsAuth

    def describe(self) -> str:
        return f"update connection {self.connection_name} from secret {self.auth.secret_arn}"


@dataclass(frozen=True)
class EnableRule:
    """Enable the consumer's rule (created disabled) once its connection holds the real credential."""

    rule_name: str
    event_bus_name: str

    def describe(self) -> str:
        return f"enable rule {self.rule_name} on bus {self.event_bus_name}"


@dataclass(frozen=True)
class RemoveWorkDirectory:
    """Remove the run's work directory."""

    def describe(self) -> str:
        return "remove the work directory"


@dataclass(frozen=True)
class ReleaseLease:
    """Give the deployment's lease up (unless another run took it over)."""

    def describe(self) -> str:
        return "release the deployment's lease"


#: a step that runs whatever happens, once the lease is held
FinalStep = RemoveWorkDirectory | ReleaseLease


Step = (
    Reject
    | RecordPending
    | ClaimSequence
    | TakeLease
    | Synthesize
    | Unbuildable
    | UploadArtifact
    | Transition
    | EnsureApiResource
    | CheckQueueEncryption
    | TerraformInit
    | CheckNewerSequence
    | TerraformRun
    | ReadOutputs
    | ConvergeQueuePolicy
    | RedeployStage
    | SyncConnection
    | EnableRule
)


@dataclass(frozen=True)
class Phase:
    """Steps run in order; an exception in one of them fails the deployment when ``failure_prefix`` is set.

    ``failure_prefix`` set: the deployment becomes ``failed`` with the prefix and the error, and is retried.
    Unset: the exception propagates (the handler retries the message; the record keeps its status).
    """

    name: str
    steps: tuple[Step, ...]
    failure_prefix: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything the generator will do for one file, in order; ``cleanup`` always runs once the lease is held."""

    location: FileLocation
    phases: tuple[Phase, ...]
    deployment: AnyDeployment | None = None
    terraform: bool = False
    #: what the owner is told at the end (the component's own instructions; notes found on the way are added)
    instructions: str | None = None
    cleanup: tuple[FinalStep, ...] = ()


# ---- the planner ---------------------------------------------------------------------------------


def rerunnable(terraform: bool) -> frozenset[DeploymentStatus]:
    """Statuses from which the same file runs again (a retry): those its first status change may leave.

    Without Terraform, ``synthesized`` is where a deployment ends, so the same file again is a duplicate.
    """
    statuses = ALLOWED_FROM[S.SYNTHESIZED]
    return statuses if terraform else statuses - {S.SYNTHESIZED}


def plan_file(
    body: bytes, location: FileLocation, runtime: RuntimeConfig, hooks_for: HooksFor, *, terraform: bool
) -> Plan:
    """The plan for a file's content: a rejection, or :func:`plan_deployment`."""
    try:
        deployment = parse_deployment_file(body)
        check_deployment(deployment, runtime)
    except InvalidDeploymentFile as invalid:
        return Plan(location, (Phase("reject", (Reject(invalid.reason, invalid.deployment_id),)),))
    return plan_deployment(deployment, location, runtime, hooks_for, terraform=terraform)


def plan_deployment(
    deployment: AnyDeployment, location: FileLocation, runtime: RuntimeConfig, hooks_for: HooksFor, *, terraform: bool
) -> Plan:
    """The plan for a valid deployment of this environment; ``terraform``: whether a Terraform binary will run."""
    prepare = Phase(
        "prepare",
        (
            RecordPending(location),
            ClaimSequence(deployment.component_id, deployment.sequence, rerunnable(terraform)),
            TakeLease(),
        ),
    )
    cleanup = (RemoveWorkDirectory(), ReleaseLease())
    try:
        hooks = hooks_for(deployment, runtime)
    except Exception as error:  # noqa: BLE001  (whatever it is, the run records it as a failed synthesis)
        # a deterministic bug fails again on every retry and then rests in the DLQ, where it is seen
        unbuildable = Phase("synthesize", (Unbuildable(str(error)),), failure_prefix="synthesis failed: ")
        return Plan(location, (prepare, unbuildable), deployment, terraform, None, cleanup)
    destroying = deployment.action is DeploymentAction.DESTROY
    instructions = None if destroying else hooks.instructions
    synthesize = Phase(
        "synthesize", (Synthesize(deployment.kind, deployment.component_id),), failure_prefix="synthesis failed: "
    )
    key = artifact_key(deployment.component_id, deployment.deployment_id)
    upload = UploadArtifact(runtime.artifact_bucket_name, key)
    if not terraform:
        stop = Transition(
            S.SYNTHESIZED,
            detail="terraform not available: stopped after synthesis",
            artifact_key=key,
            instructions=True,
        )
        return Plan(
            location, (prepare, synthesize, Phase("publish", (upload, stop))), deployment, False, instructions, cleanup
        )
    publish = Phase("publish", (upload, Transition(S.SYNTHESIZED, artifact_key=key)))
    running, done = (S.DESTROYING, S.DESTROYED) if destroying else (S.APPLYING, S.DEPLOYED)
    steps: list[Step] = []
    if hooks.parent_resource_path:
        # destroy needs it too: the stack's data source is read before anything is removed
        steps.append(
            EnsureApiResource(
                runtime.producer_api_id, runtime.producer_api_root_resource_id, hooks.parent_resource_path
            )
        )
    if not destroying and hooks.check_queue_encryption:
        steps.append(CheckQueueEncryption(hooks.check_queue_encryption))
    steps += [
        TerraformInit(),
        CheckNewerSequence(deployment.component_id, deployment.sequence),
        Transition(running),
        TerraformRun("destroy" if destroying else "apply"),
    ]
    if not destroying:
        steps.append(ReadOutputs())
    if (shared := hooks.shared_queue_policy) is not None:
        steps.append(
            ConvergeQueuePolicy(
                shared.queue_arn,
                shared.statement,
                rule_prefix=shared.rule_prefix,
                needed=not destroying,
                event_bus_name=runtime.event_bus_name,
                catalog_table=runtime.catalog_table_name,
            )
        )
    if hooks.redeploy_api_stage:
        description = f"{deployment.component_id} {deployment.action.value} {deployment.deployment_id}"
        steps.append(RedeployStage(runtime.producer_api_id, runtime.producer_api_stage_name, description))
    if not destroying and hooks.connection_name and hooks.auth is not None:
        steps.append(SyncConnection(hooks.connection_name, hooks.auth))
        if hooks.rule_to_enable:
            steps.append(EnableRule(hooks.rule_to_enable, runtime.event_bus_name))
    phases = (
        prepare,
        synthesize,
        publish,
        Phase("terraform", tuple(steps), failure_prefix=""),
        Phase("finish", (Transition(done, outputs=True, instructions=True),)),
    )
    return Plan(location, phases, deployment, True, instructions, cleanup)


def render(plan: Plan) -> str:
    """The plan as numbered lines (the display-only executor)."""
    deployment = plan.deployment
    if deployment is None:
        lines = [f"plan for {plan.location}"]
    else:
        lines = [
            f"plan for deployment {deployment.deployment_id}: {deployment.action.value} {deployment.kind} "
            f"{deployment.component_id}, sequence {deployment.sequence}, environment {deployment.environment}",
            f"file: {plan.location}",
            f"terraform: {'runs' if plan.terraform else 'not available (the deployment stops at synthesized)'}",
        ]
    number = 0
    for phase in plan.phases:
        if phase.failure_prefix is None:
            on_error = "an error leaves the status as it is and the file is retried"
        else:
            on_error = "an error makes the deployment failed, and the file is retried"
        lines.append(f"{phase.name} ({on_error}):")
        for step in phase.steps:
            number += 1
            lines.append(f"  {number}. {step.describe()}")
    if plan.cleanup:
        lines.append("always, once the lease is held:")
        lines += [f"  - {step.describe()}" for step in plan.cleanup]
    if plan.instructions:
        lines.append("instructions for the owner:")
        lines += [f"  {line}" for line in plan.instructions.splitlines()]
    return "\n".join(lines)
