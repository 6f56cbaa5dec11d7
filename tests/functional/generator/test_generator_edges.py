"""The generator's edges: the Lambda handler, the CLI, the worker, the real AWS actions, stock vs lazy synthesis."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

import generator.handler as handler_module
from broker_contract.examples import examples
from broker_contract.models import ApiKeyAuth, ConsumerDeployment, DeploymentStatus, ProducerDeployment
from generator.__main__ import main
from generator.aws_actions import AwsPostApplyActions
from generator.jsii_provider import package_cache_root

from .conftest import NAMES, REGION, RUNTIME, Aws, FakeTerraform, s3_event

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


EXAMPLE_FILES = sorted((REPO / "broker_contract" / "examples").glob("*.json"))


def names_of(deployment: ProducerDeployment | ConsumerDeployment) -> tuple[str, str]:
    """The component's stack name and state key."""
    if isinstance(deployment, ProducerDeployment):
        producer = NAMES.producer(deployment.event.event_type, deployment.event.version)
        return producer.stack, producer.state_key
    consumer = NAMES.consumer(deployment.subscription_id)
    return consumer.stack, consumer.state_key


@pytest.mark.parametrize("example", EXAMPLE_FILES, ids=lambda path: path.stem)
def test_cli_synth_writes_each_example_and_prints_where(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in RUNTIME.to_env():
        monkeypatch.delenv(name, raising=False)  # the placeholder configuration, as on a user's machine
    deployment = examples()[example.stem]

    code = main(["synth", str(example), "--out", str(tmp_path / "out")])

    stack, state_key = names_of(deployment)
    written = tmp_path / "out" / "stacks" / stack / "cdk.tf.json"
    assert (code, capsys.readouterr().out) == (0, f"{written}\n")
    backend = json.loads(written.read_text())["terraform"]["backend"]["s3"]
    assert (backend["bucket"], backend["key"]) == (NAMES.state_bucket, state_key)


def test_every_example_kind_has_a_file_for_the_cli() -> None:
    assert [path.stem for path in EXAMPLE_FILES] == sorted(examples())


@pytest.mark.parametrize(
    ("content", "arguments", "message"),
    [
        (None, [], "cannot read {file}: No such file or directory"),
        (
            "{not json",
            [],
            "{file}: not a JSON document: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ("[1]", [], "{file}: invalid deployment file: (file): must be a JSON object"),
        ("{}", [], "{file}: invalid deployment file: kind: must be 'producer' or 'consumer' (found missing)"),
        (
            '{"kind": "consumer"}',
            [],
            "{file}: invalid deployment file: deployment_id: Field required; ",
        ),
        (
            "consumer-sqs",
            ["--environment", "prod"],
            "{file}: environment: the file is for 'dev', --environment for 'prod'",
        ),
        (
            "consumer-sqs",
            ["--environment", "qa"],
            "configuration of environment 'qa' (config/qa.json or BROKER_* variables): "
            "region: Field required; account_id: Field required",
        ),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    arguments: list[str],
    message: str,
) -> None:
    for name in [*RUNTIME.to_env(), "BROKER_REGION", "BROKER_ACCOUNT_ID", "BROKER_ENVIRONMENT"]:
        monkeypatch.delenv(name, raising=False)
    file = tmp_path / "deployment.json"
    if content in examples():
        file.write_text(examples()[content].model_dump_json())
    elif content is not None:
        file.write_text(content)

    code = main(["synth", str(file), "--out", str(tmp_path / "out"), *arguments])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: " + message.format(file=file))
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "out").exists()


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


def test_failing_record_is_retried_then_lands_in_the_dlq_and_good_records_are_not_redelivered(
    aws: Aws, broker_env: None, fake_terraform: FakeTerraform, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = examples()["consumer-lambda"]
    bad = good.model_copy(update={"subscription_id": "sub-00000000000000b1", "deployment_id": "dep-00000000000000b1"})
    good_key, bad_key = aws.put_file(good), aws.put_file(bad)
    bad_stack = NAMES.consumer("sub-00000000000000b1").stack
    for name, value in {**fake_terraform.environ, "FAKE_TF_FAIL": "apply", "FAKE_TF_FAIL_STACK": bad_stack}.items():
        monkeypatch.setenv(name, value)
    dlq_url = aws.sqs.create_queue(QueueName=NAMES.generator_dead_letter_queue)["QueueUrl"]
    dlq_arn = aws.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    # visibility 0: a message left undeleted is received again at once, instead of after the real timeout
    queue_url = aws.sqs.create_queue(
        QueueName=NAMES.generator_queue,
        Attributes={
            "VisibilityTimeout": "0",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    bodies = {key: s3_event(NAMES.consumer_bucket, key)["body"] for key in (good_key, bad_key)}
    for body in bodies.values():
        aws.sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    # the worker runs the Lambda's handle_batch and deletes what it does not report as a batch item failure
    code = main(
        ["worker", "--queue-url", queue_url, "--once", "--wait-seconds", "0", "--terraform", str(fake_terraform.binary),
         "--workers", "1", "--retry-after", "0"]
    )  # fmt: skip

    assert code == 0
    dead = aws.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in dead] == [bodies[bad_key]]
    attributes = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == (
        "0",
        "0",
    )
    # the good record ran once; the failing one was tried maxReceiveCount times
    by_stack: dict[str, list[str]] = {}
    for call in fake_terraform.calls():
        by_stack.setdefault(Path(call["cwd"]).name, []).append(call["argv"][0])
    assert by_stack == {
        NAMES.consumer(good.subscription_id).stack: ["init", "apply", "output"],  # type: ignore[union-attr]
        bad_stack: ["init", "apply"] * 3,
    }
    assert [change.status.value for change in aws.record(good.deployment_id).history] == [
        "pending", "synthesized", "applying", "deployed",
    ]  # fmt: skip
    failed = aws.record(bad.deployment_id)
    assert failed.status is DeploymentStatus.FAILED
    assert failed.error == (
        "`terraform apply -auto-approve -input=false -no-color -lock-timeout=120s` failed: exit code 1: "
        "Error: creating SQS Queue: AccessDenied: not allowed to sqs:CreateQueue"
    )
    assert [change.status.value for change in failed.history] == ["pending"] + ["synthesized", "applying", "failed"] * 3


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
tarball = preloaded_tarball()
print(json.dumps({"lazy_python": lazy_python, "lazy_node": str(tarball) if tarball else None}))
"""


def synthesize_examples(
    out: Path, *, stock: bool, env: dict[str, str] | None = None, wrapper: list[str] | None = None
) -> dict[str, object]:
    """Synthesize every example in a fresh process; which provider shims it used."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environ.pop("BROKER_STOCK_PROVIDER_IMPORT", None)
    if stock:
        environ["BROKER_STOCK_PROVIDER_IMPORT"] = "1"
    completed = subprocess.run(
        [*(wrapper or []), sys.executable, "-c", SYNTH_EXAMPLES, str(out)],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-2000:]
    flags: dict[str, object] = json.loads(completed.stdout.strip().splitlines()[-1])
    return flags


def read_only_mounts_work(directory: Path) -> bool:
    """Whether this machine lets an unprivileged process bind-mount ``directory`` read-only (user namespaces)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    probe = subprocess.run(
        [unshare, "-Urm", "sh", "-c", f"mount --bind -o ro {directory} {directory} && ! touch {directory}/probe"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


def test_stock_and_lazy_provider_imports_synthesize_identical_json(tmp_path: Path) -> None:
    # a fresh lazy copy: the test must not pass thanks to a copy an earlier run left in ~/.cache
    fresh = tmp_path / "jsii"
    lazy = {"BROKER_JSII_CACHE_DIR": str(fresh)}
    assert synthesize_examples(tmp_path / "stock", stock=True) == {"lazy_python": False, "lazy_node": None}
    flags = synthesize_examples(tmp_path / "lazy", stock=False, env=lazy)

    built = sorted(fresh.iterdir())
    assert [path.name for path in built] == [Path(str(flags["lazy_node"])).name]
    assert flags == {"lazy_python": True, "lazy_node": str(built[0])}
    for name in examples():
        stock = (tmp_path / "stock" / f"{name}.json").read_bytes()
        assert stock == (tmp_path / "lazy" / f"{name}.json").read_bytes(), name
        assert json.loads(stock)["terraform"]["backend"]["s3"]["bucket"] == NAMES.state_bucket

    if not read_only_mounts_work(fresh):
        pytest.skip("no unprivileged read-only bind mounts here: the read-only cache case is not exercised")
    # like Lambda: both caches on a read-only file system, only the temporary directory writable
    package_cache = package_cache_root()
    script = f'mount --bind -o ro {fresh} {fresh} && mount --bind -o ro {package_cache} {package_cache} && exec "$@"'
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    flags = synthesize_examples(
        tmp_path / "read-only",
        stock=False,
        env={**lazy, "TMPDIR": str(temporary)},
        wrapper=["unshare", "-Urm", "sh", "-c", script, "sh"],
    )

    assert flags == {"lazy_python": True, "lazy_node": str(built[0])}
    assert (temporary / "event-broker-jsii-package-cache").is_dir()
    for name in examples():
        assert (tmp_path / "stock" / f"{name}.json").read_bytes() == (
            tmp_path / "read-only" / f"{name}.json"
        ).read_bytes(), name
