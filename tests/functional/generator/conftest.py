"""Generator under moto: buckets, the catalog table from its layout, a real synthesizer, a fake Terraform."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from broker_contract import catalog
from broker_contract.catalog import deployment_key
from broker_contract.config import RuntimeConfig
from broker_contract.dynamodb_store import DynamoDBDeploymentStore
from broker_contract.models import ConsumerDeployment, ProducerDeployment
from broker_contract.names import BrokerNames, deployment_file_key
from broker_contract.records import DeploymentRecord
from component_stacks.hooks import ComponentHooks
from generator.files import DeploymentFiles
from generator.runner import TerraformRunner
from generator.service import GeneratorService
from generator.synth import CdktfSynthesizer

REGION = "eu-west-1"
ACCOUNT = "123456789012"
NAMES = BrokerNames("dev", REGION, ACCOUNT)
RUNTIME = RuntimeConfig.derived(NAMES, producer_api_id="api123", root_resource_id="root123")

# A stand-in for terraform: logs each call, checks the directory it runs in, fails on request
# (FAKE_TF_FAIL=<command>, optionally only in the stack directory named FAKE_TF_FAIL_STACK).
FAKE_TERRAFORM = """
import json, os, sys
from pathlib import Path

command = sys.argv[1]
entry = {"argv": sys.argv[1:], "cwd": os.getcwd(), "automation": os.environ.get("TF_IN_AUTOMATION")}
stack = Path("cdk.tf.json")
if not stack.is_file():
    sys.stderr.write("Error: no cdk.tf.json in " + os.getcwd())
    sys.exit(1)
config = json.loads(stack.read_text())
entry["backend"] = config.get("terraform", {}).get("backend", {}).get("s3")
log = Path(os.environ["FAKE_TF_LOG"])
calls = json.loads(log.read_text()) if log.exists() else []
calls.append(entry)
log.write_text(json.dumps(calls))
if command == "init" and not entry["backend"]:
    sys.stderr.write("Error: no s3 backend")
    sys.exit(1)
failing_stack = os.environ.get("FAKE_TF_FAIL_STACK")
if command == os.environ.get("FAKE_TF_FAIL") and failing_stack in (None, Path.cwd().name):
    sys.stdout.write("Refreshing state...")
    sys.stderr.write("Error: creating SQS Queue: AccessDenied: not allowed to sqs:CreateQueue")
    sys.exit(1)
if command == "output":
    sys.stdout.write(os.environ.get("FAKE_TF_OUTPUTS", "{}"))
"""


def write_fake_terraform(directory: Path) -> Path:
    """An executable ``terraform`` in ``directory`` running :data:`FAKE_TERRAFORM` with this Python."""
    script = directory / "terraform"
    script.write_text(f"#!{sys.executable}\n{FAKE_TERRAFORM}")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@dataclass
class FakeTerraform:
    """The fake binary, its call log, and switches for the next runs."""

    binary: Path
    log: Path
    environ: dict[str, str]

    def calls(self) -> list[dict[str, Any]]:
        return json.loads(self.log.read_text()) if self.log.exists() else []

    def commands(self) -> list[str]:
        return [call["argv"][0] for call in self.calls()]

    def fail_on(self, command: str | None) -> None:
        if command is None:
            self.environ.pop("FAKE_TF_FAIL", None)
        else:
            self.environ["FAKE_TF_FAIL"] = command

    def runner(self) -> TerraformRunner:
        # the runner copies its environment on creation: build it after setting the switches
        return TerraformRunner(str(self.binary), environ=self.environ, timeout_seconds=60)


@pytest.fixture
def fake_terraform(tmp_path: Path) -> FakeTerraform:
    log = tmp_path / "terraform-calls.json"
    outputs = {
        "queue_url": {"value": "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "type": "string"},
        "queue_arn": {"value": "arn:aws:sqs:eu-west-1:123456789012:q", "type": "string", "sensitive": False},
        "api_key_value": {"value": "hidden", "type": "string", "sensitive": True},
        "limits": {"value": {"rate": 50}, "type": ["object", {"rate": "number"}]},
    }
    environ = {"PATH": os.environ.get("PATH", ""), "FAKE_TF_LOG": str(log), "FAKE_TF_OUTPUTS": json.dumps(outputs)}
    return FakeTerraform(write_fake_terraform(tmp_path), log, environ)


@dataclass
class NoTerraform:
    """A runner for a machine without terraform."""

    available: bool = False

    def init(self, workdir: Path) -> None:
        raise AssertionError("terraform must not run")

    apply = destroy = init

    def output(self, workdir: Path) -> dict[str, Any]:
        raise AssertionError("terraform must not run")


@dataclass
class RecordingActions:
    """Post-apply actions that record their calls (with the shared journal of the fake terraform)."""

    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    terraform: FakeTerraform | None = None
    #: what ``check_queue_encryption`` answers: a note, or an exception it raises
    queue_check: str | Exception | None = None

    def _note(self, name: str, *args: Any) -> None:
        # remember how many terraform calls had happened, to check hooks run before/after apply
        done = len(self.terraform.calls()) if self.terraform else 0
        self.calls.append((name, (*args, done)))

    def ensure_api_resource(self, api_id: str, root_resource_id: str, path: str) -> str:
        self._note("ensure_api_resource", api_id, root_resource_id, path)
        return "res1"

    def redeploy_stage(self, api_id: str, stage_name: str, description: str) -> str:
        self._note("redeploy_stage", api_id, stage_name, description)
        return "dep1"

    def sync_connection(self, connection_name: str, auth: Any) -> None:
        self._note("sync_connection", connection_name, auth)

    def enable_rule(self, rule_name: str, event_bus_name: str) -> None:
        self._note("enable_rule", rule_name, event_bus_name)

    def check_queue_encryption(self, queue_arn: str) -> str | None:
        self._note("check_queue_encryption", queue_arn)
        if isinstance(self.queue_check, Exception):
            raise self.queue_check
        return self.queue_check

    def converge_queue_policy(self, queue_arn: str, statement: dict[str, Any], **settings: Any) -> bool:
        self._note("converge_queue_policy", queue_arn, statement["Sid"], settings["needed"])
        return True


@pytest.fixture(scope="session")
def synthesizer() -> CdktfSynthesizer:
    """One synthesizer per session: cdktf loads once, each test's stacks cost tens of milliseconds."""
    return CdktfSynthesizer()


def create_catalog_table(dynamodb: Any, name: str) -> Any:
    """The catalog table exactly as ``broker_contract.catalog`` lays it out."""
    return dynamodb.create_table(**catalog.create_table_arguments(name))


@dataclass
class Aws:
    s3: Any
    table: Any
    sqs: Any

    def put_file(self, deployment: ProducerDeployment | ConsumerDeployment, *, key: str | None = None) -> str:
        bucket = RUNTIME.producer_bucket_name if deployment.kind == "producer" else RUNTIME.consumer_bucket_name
        key = key or deployment_file_key(deployment.component_id, deployment.sequence, deployment.deployment_id)
        self.s3.put_object(Bucket=bucket, Key=key, Body=deployment.model_dump_json().encode())
        return key

    def put_raw(self, bucket: str, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def record(self, deployment_id: str) -> DeploymentRecord:
        item = self.table.get_item(Key=deployment_key(deployment_id), ConsistentRead=True)["Item"]
        return DeploymentRecord.from_item(item)

    def has_record(self, deployment_id: str) -> bool:
        return "Item" in self.table.get_item(Key=deployment_key(deployment_id))

    def put_pending_record(self, deployment: ProducerDeployment | ConsumerDeployment, key: str) -> None:
        """What the portal writes before the file (status pending)."""
        bucket = RUNTIME.producer_bucket_name if deployment.kind == "producer" else RUNTIME.consumer_bucket_name
        self.table.put_item(Item=DeploymentRecord.for_file(deployment, bucket, key, deployment.requested_at).to_item())


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (RUNTIME.producer_bucket_name, RUNTIME.consumer_bucket_name, RUNTIME.artifact_bucket_name):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        table = create_catalog_table(boto3.resource("dynamodb", region_name=REGION), RUNTIME.catalog_table_name)
        yield Aws(s3=s3, table=table, sqs=boto3.client("sqs", region_name=REGION))


@pytest.fixture
def make_service(aws: Aws, synthesizer: CdktfSynthesizer, tmp_path: Path) -> Any:
    def make(runner: Any, actions: Any = None, hooks: ComponentHooks | None = None) -> GeneratorService:
        used: Any = synthesizer
        if hooks is not None:
            used = _FixedHooks(synthesizer, hooks)
        return GeneratorService(
            runtime=RUNTIME,
            files=DeploymentFiles(lambda: aws.s3),
            store=DynamoDBDeploymentStore(
                RUNTIME.catalog_table_name, lambda: boto3.client("dynamodb", region_name=REGION)
            ),
            synthesizer=used,
            runner=runner,
            actions=actions or RecordingActions(),
            work_root=tmp_path,
        )

    return make


@dataclass
class _FixedHooks:
    inner: CdktfSynthesizer
    fixed: ComponentHooks

    def hooks(self, deployment: Any, runtime: RuntimeConfig) -> ComponentHooks:
        return self.fixed

    def synthesize(self, deployment: Any, runtime: RuntimeConfig, outdir: Path) -> Any:
        return self.inner.synthesize(deployment, runtime, outdir)


def s3_event(bucket: str, *keys: str, message_id: str = "m1") -> dict[str, Any]:
    """An SQS record whose body is an S3 ObjectCreated notification for ``keys``."""
    body = {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}
            for key in keys
        ]
    }
    return {"messageId": message_id, "body": json.dumps(body)}
