"""``python -m generator plan <file>``: the generator's plan for a file, printed, with nothing executed."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from broker_contract.examples import examples
from broker_contract.models import DeploymentAction
from generator.__main__ import main

from .conftest import FakeTerraform

pytestmark = pytest.mark.xdist_group("generator")


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any AWS client made during planning fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("planning must not create an AWS client")

    monkeypatch.setattr(boto3, "client", refuse)
    monkeypatch.setattr(boto3.session.Session, "client", refuse)
    monkeypatch.setattr(boto3.session.Session, "resource", refuse)
    for name in [name for name in os.environ if name.startswith("BROKER_")]:
        monkeypatch.delenv(name)


def plan(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, *options: str, **changes: Any) -> list[str]:
    deployment = examples()[name].model_copy(update=changes)
    path = tmp_path / f"{name}.json"
    path.write_text(deployment.model_dump_json())
    assert main(["plan", str(path), *options]) == 0
    return capsys.readouterr().out.splitlines()


def steps(lines: list[str]) -> list[str]:
    """The numbered steps, without their numbers."""
    return [re.sub(r"^  \d+\. ", "", line) for line in lines if re.match(r"^  \d+\. ", line)]


@pytest.mark.usefixtures("no_aws")
def test_a_producer_plan_lists_every_step_and_runs_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: FakeTerraform
) -> None:
    lines = plan(tmp_path, capsys, "producer-https", "--terraform", str(fake_terraform.binary))
    assert lines[0].startswith("plan for deployment dep-0000000000000001: deploy producer producer-order-created-v1")
    assert steps(lines) == [
        "record the deployment as pending unless it is recorded already (file s3://dev-eb-producers-123456789012-"
        "eu-west-1/producer-order-created-v1/0000000001-dep-0000000000000001.json)",
        "claim sequence 1 of producer-order-created-v1: stop as superseded if a newer one was handled; "
        "the same file again runs only from applying, destroying, failed, pending, synthesized",
        "take the deployment's lease (the run's deadline + 60s, or 960s): stop and retry later while another run "
        "holds it",
        "synthesize the producer stack of producer-order-created-v1 (cdktf) into a new work directory",
        "upload cdk.tf.json to s3://dev-eb-artifacts-123456789012-eu-west-1/producer-order-created-v1/"
        "dep-0000000000000001/cdk.tf.json",
        "status synthesized, recording artifact_key",
        "ensure API resource /order-created of API placeholder-api-id",
        "terraform init",
        "stop as superseded if a sequence newer than 1 of producer-order-created-v1 was claimed",
        "status applying",
        "terraform apply (releasing a state lock older than 960s once)",
        "terraform output -json (non-sensitive outputs, as strings)",
        "redeploy stage dev of API placeholder-api-id (producer-order-created-v1 deploy dep-0000000000000001)",
        "status deployed, recording instructions, outputs",
    ]
    assert "synthesize (an error makes the deployment failed, and the file is retried):" in lines
    assert lines[lines.index("always, once the lease is held:") + 1 :][:2] == [
        "  - remove the work directory",
        "  - release the deployment's lease",
    ]
    assert any("Publish order-created.1 with role" in line for line in lines)
    assert fake_terraform.calls() == []  # planned, not run


@pytest.mark.usefixtures("no_aws")
def test_a_consumer_plan_with_and_without_terraform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_terraform: FakeTerraform
) -> None:
    applied = steps(plan(tmp_path, capsys, "consumer-https", "--terraform", str(fake_terraform.binary)))
    assert applied[-5:] == [
        "terraform apply (releasing a state lock older than 960s once)",
        "terraform output -json (non-sensitive outputs, as strings)",
        "update connection dev-sub-00000000000000a3 from secret "
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:crm-hook-key-AbCdEf",
        "enable rule dev-sub-00000000000000a3 on bus dev.custom.events.bus",
        "status deployed, recording instructions, outputs",
    ]
    destroyed = steps(
        plan(
            tmp_path,
            capsys,
            "consumer-https",
            "--terraform",
            str(fake_terraform.binary),
            action=DeploymentAction.DESTROY,
        )
    )
    # a destroy reads no outputs and touches no connection: the stack and its rule go away
    assert destroyed[-3:] == [
        "status destroying",
        "terraform destroy (releasing a state lock older than 960s once)",
        "status destroyed, recording instructions, outputs",
    ]
    offline = plan(tmp_path, capsys, "consumer-https", "--terraform", "off")
    assert "terraform: not available (the deployment stops at synthesized)" in offline
    assert steps(offline)[-1] == (
        "status synthesized, recording artifact_key, instructions (terraform not available: stopped after synthesis)"
    )
    assert not any("terraform init" in line for line in offline)
    assert fake_terraform.calls() == []


@pytest.mark.usefixtures("no_aws")
def test_an_invalid_file_plans_its_rejection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a file of another environment than the generator's (here the one --environment names)
    lines = plan(tmp_path, capsys, "producer-sqs", "--environment", "dev", "--terraform", "off", environment="prod")
    assert steps(lines) == [
        "reject the file, not retried: deployment dep-0000000000000002 becomes failed: environment: the file is for "
        "'prod', this generator serves 'dev'"
    ]
