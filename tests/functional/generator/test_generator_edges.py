"""The generator's edges: the Lambda handler, the CLI, the worker, the real AWS actions, stock vs lazy synthesis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import generator.handler as handler_module
from broker_contract.examples import examples
from broker_contract.models import ApiKeyAuth, DeploymentStatus
from generator.__main__ import main
from generator.aws_actions import AwsPostApplyActions

from .conftest import NAMES, REGION, RUNTIME, Aws, s3_event

pytestmark = pytest.mark.xdist_group("generator")

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def no_terraform(monkeypatch: pytest.MonkeyPatch) -> None:
    """This machine may have a real terraform; the edges must never run it."""
    monkeypatch.setattr("generator.runner.find_terraform", lambda: None)


@pytest.fixture
def broker_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in RUNTIME.to_env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(handler_module, "_service", None)


def test_lambda_handler_builds_its_service_once_and_synthesizes(aws: Aws, broker_env: None, no_terraform: None) -> None:
    deployment = examples()["consumer-lambda"]
    key = aws.put_file(deployment)

    first = handler_module.handler({"Records": [s3_event(RUNTIME.consumer_bucket_name, key)]}, None)
    service = handler_module._service

    assert first == {"batchItemFailures": []}
    assert aws.record(deployment.deployment_id).status is DeploymentStatus.SYNTHESIZED
    handler_module.handler({"Records": []}, None)
    assert handler_module._service is service  # warm invocations reuse clients and cdktf


def test_cli_synth_writes_the_stack_and_prints_its_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployment = examples()["consumer-https"]
    file = tmp_path / "deployment.json"
    file.write_text(deployment.model_dump_json())

    code = main(["synth", str(file), "--out", str(tmp_path / "out")])

    written = Path(capsys.readouterr().out.strip())
    stack = NAMES.consumer(deployment.subscription_id).stack  # type: ignore[union-attr]
    assert code == 0
    assert written == tmp_path / "out" / "stacks" / stack / "cdk.tf.json"
    assert json.loads(written.read_text())["terraform"]["backend"]["s3"]["bucket"] == NAMES.state_bucket


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "error: cannot read"),
        ("{}", "invalid deployment file: "),
        ('{"kind": "consumer"}', "error: "),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    file = tmp_path / "deployment.json"
    if content is not None:
        file.write_text(content)

    code = main(["synth", str(file), "--out", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_worker_without_configuration_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in RUNTIME.to_env():
        monkeypatch.delenv(name, raising=False)

    assert main(["worker", "--queue-url", "http://q"]) == 2
    assert capsys.readouterr().err.startswith("error: missing configuration: BROKER_")


def test_worker_processes_the_queue_and_deletes_handled_messages(
    aws: Aws, broker_env: None, no_terraform: None
) -> None:
    deployment = examples()["producer-sqs"]
    key = aws.put_file(deployment)
    queue_url = aws.sqs.create_queue(QueueName=NAMES.generator_queue)["QueueUrl"]
    aws.sqs.send_message(
        QueueUrl=queue_url, MessageBody=json.loads(json.dumps(s3_event(NAMES.producer_bucket, key)))["body"]
    )

    assert main(["worker", "--queue-url", queue_url, "--once", "--wait-seconds", "0"]) == 0

    assert aws.record(deployment.deployment_id).status is DeploymentStatus.SYNTHESIZED
    attributes = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )


def test_real_actions_create_the_api_resource_redeploy_and_sync_the_connection(aws: Aws) -> None:
    apigateway = boto3.client("apigateway", region_name=REGION)
    api = apigateway.create_rest_api(name=NAMES.producer_api)
    root = next(item["id"] for item in apigateway.get_resources(restApiId=api["id"])["items"] if item["path"] == "/")
    events = boto3.client("events", region_name=REGION)
    events.create_connection(
        Name="dev-sub-00000000000000a3",
        AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "placeholder"}},
    )
    secret = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="crm-hook-key", SecretString="s3cret"
    )
    actions = AwsPostApplyActions(lambda service: boto3.client(service, region_name=REGION))

    first = actions.ensure_api_resource(api["id"], root, "/order-created")
    again = actions.ensure_api_resource(api["id"], root, "/order-created")
    # a stage needs a method to deploy; the producer stack would have created it
    apigateway.put_method(restApiId=api["id"], resourceId=first, httpMethod="POST", authorizationType="NONE")
    apigateway.put_integration(restApiId=api["id"], resourceId=first, httpMethod="POST", type="MOCK")
    deployment_id = actions.redeploy_stage(api["id"], "dev", "producer-order-created-v1 deploy dep-1")
    actions.sync_connection("dev-sub-00000000000000a3", ApiKeyAuth(secret_arn=secret["ARN"], header_name="x-crm-key"))

    paths = {item["path"]: item["id"] for item in apigateway.get_resources(restApiId=api["id"])["items"]}
    assert first == again == paths["/order-created"]
    assert apigateway.get_stage(restApiId=api["id"], stageName="dev")["deploymentId"] == deployment_id
    connection = events.describe_connection(Name="dev-sub-00000000000000a3")
    assert connection["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"] == "x-crm-key"


SYNTH_EXAMPLES = """
import json, sys
from pathlib import Path
from broker_contract.examples import examples
from generator.jsii_provider import preloaded_tarball
from generator.synth import CdktfSynthesizer
from tests.functional.generator.conftest import RUNTIME
out = Path(sys.argv[1])
synthesizer = CdktfSynthesizer()
for name, deployment in examples().items():
    stack = synthesizer.synthesize(deployment, RUNTIME, out / name)
    (out / f"{name}.json").write_bytes(stack.file.read_bytes())
lazy_python = getattr(sys.modules["cdktf_cdktf_provider_aws"], "__broker_lazy__", False)
print(json.dumps({"lazy_python": lazy_python, "lazy_node": preloaded_tarball() is not None}))
"""


def synthesize_examples(out: Path, *, stock: bool) -> dict[str, bool]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("BROKER_STOCK_PROVIDER_IMPORT", None)
    if stock:
        env["BROKER_STOCK_PROVIDER_IMPORT"] = "1"
    completed = subprocess.run(
        [sys.executable, "-c", SYNTH_EXAMPLES, str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    flags: dict[str, bool] = json.loads(completed.stdout.strip().splitlines()[-1])
    return flags


def test_stock_and_lazy_provider_imports_synthesize_identical_json(tmp_path: Path) -> None:
    assert synthesize_examples(tmp_path / "stock", stock=True) == {"lazy_python": False, "lazy_node": False}
    assert synthesize_examples(tmp_path / "lazy", stock=False) == {"lazy_python": True, "lazy_node": True}
    for name in examples():
        stock = (tmp_path / "stock" / f"{name}.json").read_bytes()
        assert stock == (tmp_path / "lazy" / f"{name}.json").read_bytes(), name
        assert json.loads(stock)["terraform"]["backend"]["s3"]["bucket"] == NAMES.state_bucket
