"""The generator end to end under moto: real synthesis, a fake terraform, statuses in the catalog."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from broker_contract.catalog import component_key, deployment_key
from broker_contract.examples import examples
from broker_contract.models import (
    ConsumerDeployment,
    DeploymentAction,
    DeploymentStatus,
    LambdaConsumer,
    ProducerDeployment,
)
from broker_contract.names import artifact_key, deployment_file_key
from generator.handler import handle_batch
from generator.service import Outcome, ProcessResult

from .conftest import NAMES, RUNTIME, Aws, FakeTerraform, NoTerraform, RecordingActions, s3_event

pytestmark = pytest.mark.xdist_group("generator")

S = DeploymentStatus


def variant(name: str, **update: Any) -> ProducerDeployment | ConsumerDeployment:
    return examples()[name].model_copy(update=update)


def bucket_of(deployment: ProducerDeployment | ConsumerDeployment) -> str:
    return RUNTIME.producer_bucket_name if deployment.kind == "producer" else RUNTIME.consumer_bucket_name


def statuses(aws: Aws, deployment_id: str) -> list[str]:
    return [change.status.value for change in aws.record(deployment_id).history]


def test_deploy_then_destroy_runs_terraform_in_the_stack_directory_and_records_every_status(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deploy = variant("producer-sqs")
    destroy = variant("producer-sqs", deployment_id="dep-00000000000000d2", sequence=2, action=DeploymentAction.DESTROY)
    service = make_service(fake_terraform.runner())
    keys = [aws.put_file(deploy), aws.put_file(destroy)]

    response = handle_batch(service, {"Records": [s3_event(RUNTIME.producer_bucket_name, keys[0], message_id="a")]})

    assert response == {"batchItemFailures": []}
    record = aws.record(deploy.deployment_id)
    assert record.status is S.DEPLOYED
    assert statuses(aws, deploy.deployment_id) == ["pending", "synthesized", "applying", "deployed"]
    assert record.artifact_key == artifact_key(deploy.component_id, deploy.deployment_id)
    assert record.error is None
    # sensitive outputs stay out of the catalog; structured ones are JSON
    assert record.outputs == {
        "queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/q",
        "queue_arn": "arn:aws:sqs:eu-west-1:123456789012:q",
        "limits": '{"rate":50}',
    }
    calls = fake_terraform.calls()
    assert [call["argv"] for call in calls] == [
        ["init", "-input=false", "-no-color"],
        ["apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=120s"],
        ["output", "-json", "-no-color"],
    ]
    producer = NAMES.producer("payment-settled", 2)
    assert {Path(call["cwd"]).name for call in calls} == {producer.stack}
    assert calls[0]["backend"]["bucket"] == NAMES.state_bucket
    assert calls[0]["backend"]["key"] == producer.state_key
    assert calls[0]["automation"] == "1"

    response = handle_batch(service, {"Records": [s3_event(RUNTIME.producer_bucket_name, keys[1], message_id="b")]})

    assert response == {"batchItemFailures": []}
    assert aws.record(destroy.deployment_id).status is S.DESTROYED
    assert statuses(aws, destroy.deployment_id) == ["pending", "synthesized", "destroying", "destroyed"]
    assert fake_terraform.commands()[3:] == ["init", "destroy"]
    assert fake_terraform.calls()[3]["backend"]["key"] == producer.state_key


def test_invalid_file_is_failed_with_its_reason_and_the_batch_goes_on(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    good = variant("consumer-lambda")
    bad = json.loads(variant("consumer-lambda", deployment_id="dep-00000000000000ba").model_dump_json())
    bad["max_retry_attempts"] = 500
    bad_key = deployment_file_key(good.component_id, 7, "dep-00000000000000ba")
    aws.put_pending_record(variant("consumer-lambda", deployment_id="dep-00000000000000ba", sequence=7), bad_key)
    aws.put_raw(RUNTIME.consumer_bucket_name, bad_key, json.dumps(bad).encode())
    aws.put_raw(RUNTIME.consumer_bucket_name, "garbage.json", b"{not json")
    good_key = aws.put_file(good)
    service = make_service(fake_terraform.runner())

    response = handle_batch(
        service,
        {
            "Records": [
                s3_event(RUNTIME.consumer_bucket_name, bad_key, message_id="bad"),
                s3_event(RUNTIME.consumer_bucket_name, "garbage.json", message_id="garbage"),
                s3_event(RUNTIME.consumer_bucket_name, good_key, message_id="good"),
            ]
        },
    )

    assert response == {"batchItemFailures": []}
    failed = aws.record("dep-00000000000000ba")
    assert failed.status is S.FAILED
    assert failed.error == "invalid deployment file: max_retry_attempts: Input should be less than or equal to 185"
    assert aws.record(good.deployment_id).status is S.DEPLOYED
    # the invalid file never claimed its component nor reached terraform
    assert [Path(call["cwd"]).name for call in fake_terraform.calls()] == [
        NAMES.consumer(good.subscription_id).stack
    ] * 3


def test_same_file_twice_is_a_no_op_the_second_time(aws: Aws, make_service: Any, fake_terraform: FakeTerraform) -> None:
    deployment = variant("consumer-lambda")
    key = aws.put_file(deployment)
    service = make_service(fake_terraform.runner())

    first = service.process(RUNTIME.consumer_bucket_name, key)
    history = statuses(aws, deployment.deployment_id)
    second = service.process(RUNTIME.consumer_bucket_name, key)

    assert first == ProcessResult(Outcome.DONE, deployment.deployment_id, S.DEPLOYED)
    assert second == ProcessResult(Outcome.IGNORED, deployment.deployment_id, S.DEPLOYED, "already handled")
    assert statuses(aws, deployment.deployment_id) == history == ["pending", "synthesized", "applying", "deployed"]
    # terraform ran for the first delivery only
    assert fake_terraform.commands() == ["init", "apply", "output"]
    assert aws.table.get_item(Key=component_key(deployment.component_id))["Item"]["handled_sequence"] == 1


def test_older_file_after_a_newer_one_is_superseded_and_never_applied(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    older = variant("consumer-lambda", sequence=3, deployment_id="dep-0000000000000003")
    newer = variant("consumer-lambda", sequence=4, deployment_id="dep-0000000000000004")
    older_key, newer_key = aws.put_file(older), aws.put_file(newer)
    aws.put_pending_record(older, older_key)
    service = make_service(fake_terraform.runner())

    assert service.process(RUNTIME.consumer_bucket_name, newer_key).status is S.DEPLOYED
    result = service.process(RUNTIME.consumer_bucket_name, older_key)

    assert result == ProcessResult(
        Outcome.IGNORED, older.deployment_id, S.SUPERSEDED, "sequence 4 of this component was handled already"
    )
    assert aws.record(older.deployment_id).status is S.SUPERSEDED
    assert statuses(aws, older.deployment_id) == ["pending", "superseded"]
    assert aws.record(newer.deployment_id).status is S.DEPLOYED
    # terraform ran for the newer file only
    assert [Path(call["cwd"]).name for call in fake_terraform.calls()] == [
        NAMES.consumer(newer.subscription_id).stack
    ] * 3
    assert fake_terraform.commands() == ["init", "apply", "output"]
    assert aws.table.get_item(Key=component_key(older.component_id))["Item"]["handled_sequence"] == 4


def test_newer_file_claimed_during_synthesis_wins_before_apply(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform, synthesizer: Any
) -> None:
    older = variant("consumer-lambda", sequence=3, deployment_id="dep-0000000000000003")
    key = aws.put_file(older)

    @dataclass
    class NewerArrivesWhileSynthesizing:
        def hooks(self, deployment: Any, runtime: Any) -> Any:
            return synthesizer.hooks(deployment, runtime)

        def synthesize(self, deployment: Any, runtime: Any, outdir: Path) -> Any:
            # another generator invocation claims sequence 4 of the same component meanwhile
            aws.table.update_item(
                Key=component_key(deployment.component_id),
                UpdateExpression="SET handled_sequence = :seq",
                ExpressionAttributeValues={":seq": 4},
            )
            return synthesizer.synthesize(deployment, runtime, outdir)

    service = make_service(fake_terraform.runner())
    service.synthesizer = NewerArrivesWhileSynthesizing()
    result = service.process(RUNTIME.consumer_bucket_name, key)

    assert result == ProcessResult(
        Outcome.IGNORED, older.deployment_id, S.SUPERSEDED, "sequence 4 of this component was handled already"
    )
    assert statuses(aws, older.deployment_id) == ["pending", "synthesized", "superseded"]
    assert fake_terraform.commands() == ["init"]  # never applied


def test_terraform_failure_fails_the_deployment_is_retried_and_a_retry_can_succeed(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deployment = variant("consumer-lambda")
    key = aws.put_file(deployment)
    fake_terraform.fail_on("apply")

    response = handle_batch(
        make_service(fake_terraform.runner()),
        {"Records": [s3_event(RUNTIME.consumer_bucket_name, key, message_id="x")]},
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "x"}]}
    record = aws.record(deployment.deployment_id)
    assert record.status is S.FAILED
    assert record.error == (
        f"`{fake_terraform.binary.name} apply -auto-approve -input=false -no-color -lock-timeout=120s` failed: "
        "exit code 1: "
        "Error: creating SQS Queue: AccessDenied: not allowed to sqs:CreateQueue"
    )

    fake_terraform.fail_on(None)
    retried = make_service(fake_terraform.runner()).process(RUNTIME.consumer_bucket_name, key)

    assert retried.status is S.DEPLOYED
    assert aws.record(deployment.deployment_id).error is None
    assert statuses(aws, deployment.deployment_id) == [
        "pending", "synthesized", "applying", "failed", "synthesized", "applying", "deployed",
    ]  # fmt: skip


def test_without_terraform_the_deployment_stops_at_synthesized_with_the_artifact_in_s3(
    aws: Aws, make_service: Any, tmp_path: Path, synthesizer: Any
) -> None:
    deployment = variant("consumer-sqs")
    key = aws.put_file(deployment)

    result = make_service(NoTerraform()).process(RUNTIME.consumer_bucket_name, key)

    assert result.outcome is Outcome.DONE
    record = aws.record(deployment.deployment_id)
    assert record.status is S.SYNTHESIZED
    expected_key = artifact_key(deployment.component_id, deployment.deployment_id)
    assert record.artifact_key == expected_key
    artifact = aws.s3.get_object(Bucket=RUNTIME.artifact_bucket_name, Key=expected_key)["Body"].read()
    local = synthesizer.synthesize(deployment, RUNTIME, tmp_path / "again")
    assert artifact == local.file.read_bytes()
    assert (
        json.loads(artifact)["terraform"]["backend"]["s3"]["key"]
        == NAMES.consumer(deployment.subscription_id).state_key
    )
    # the queue is in another account: its owner is told what to add to the queue policy
    assert record.instructions is not None
    assert record.instructions.startswith(
        f"Add this statement to the access policy of queue {deployment.consumer.connection_string}"
    )
    # the same file again is a no-op: there is nothing more this environment can do
    assert make_service(NoTerraform()).process(RUNTIME.consumer_bucket_name, key).outcome is Outcome.IGNORED


def test_https_producer_gets_its_api_resource_before_apply_and_a_stage_redeployment_after(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deployment = variant("producer-https")
    key = aws.put_file(deployment)
    actions = RecordingActions(terraform=fake_terraform)

    make_service(fake_terraform.runner(), actions).process(RUNTIME.producer_bucket_name, key)

    # the last number is how many terraform commands had run when the action was called
    assert actions.calls == [
        ("ensure_api_resource", ("api123", "root123", "/order-created", 0)),
        ("redeploy_stage", ("api123", "dev", f"{deployment.component_id} deploy {deployment.deployment_id}", 3)),
    ]
    assert aws.record(deployment.deployment_id).status is S.DEPLOYED


def test_https_consumer_connection_gets_the_secret_after_apply(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deployment = variant("consumer-https")
    assert isinstance(deployment, ConsumerDeployment)
    key = aws.put_file(deployment)
    actions = RecordingActions(terraform=fake_terraform)

    make_service(fake_terraform.runner(), actions).process(RUNTIME.consumer_bucket_name, key)

    auth = deployment.consumer.auth  # type: ignore[union-attr]
    names = NAMES.consumer(deployment.subscription_id)
    # the rule was created disabled: it goes live only once the connection holds the real credential
    assert actions.calls == [
        ("sync_connection", (names.connection, auth, 3)),
        ("enable_rule", (names.rule, RUNTIME.event_bus_name, 3)),
    ]


def test_file_for_another_environment_is_rejected_without_retry(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deployment = variant("consumer-lambda", environment="prod")
    key = aws.put_file(deployment)
    aws.put_pending_record(deployment, key)

    result = make_service(fake_terraform.runner()).process(RUNTIME.consumer_bucket_name, key)

    assert (result.outcome, result.retry) == (Outcome.REJECTED, False)
    assert aws.record(deployment.deployment_id).error == (
        "environment: the file is for 'prod', this generator serves 'dev'"
    )
    assert fake_terraform.calls() == []


def test_subscription_to_a_function_in_another_region_is_rejected_without_retry(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deployment = variant(
        "consumer-lambda",
        consumer=LambdaConsumer(connection_string="arn:aws:lambda:us-east-1:111122223333:function:bill-order"),
    )
    key = aws.put_file(deployment)
    aws.put_pending_record(deployment, key)

    result = make_service(fake_terraform.runner()).process(RUNTIME.consumer_bucket_name, key)

    assert (result.outcome, result.retry) == (Outcome.REJECTED, False)
    assert aws.record(deployment.deployment_id).error == (
        "consumer.connection_string: the function must be in the broker's region eu-west-1 "
        "(EventBridge rules deliver to functions and queues of their own region only), not us-east-1"
    )
    assert fake_terraform.calls() == []


def test_missing_object_and_test_events_are_ignored(aws: Aws, make_service: Any, fake_terraform: FakeTerraform) -> None:
    service = make_service(fake_terraform.runner())
    test_event = {"messageId": "t", "body": json.dumps({"Event": "s3:TestEvent", "Bucket": "b"})}

    response = handle_batch(
        service, {"Records": [test_event, s3_event(RUNTIME.consumer_bucket_name, "gone.json", message_id="g")]}
    )

    assert response == {"batchItemFailures": []}
    assert fake_terraform.calls() == []


def test_a_run_leaves_neither_its_lease_nor_its_work_directory_behind_whether_it_fails_or_succeeds(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform, tmp_path: Path
) -> None:
    deployment = variant("consumer-sqs")
    key = aws.put_file(deployment)

    def left_behind() -> tuple[list[Path], dict[str, Any]]:
        item = aws.table.get_item(Key=deployment_key(deployment.deployment_id), ConsistentRead=True)["Item"]
        lease = {name: item[name] for name in ("lease_owner", "lease_expires_at") if name in item}
        return sorted(tmp_path.glob(f"{deployment.deployment_id}-*")), lease

    fake_terraform.fail_on("apply")
    failed = make_service(fake_terraform.runner()).process(RUNTIME.consumer_bucket_name, key)
    assert (failed.status, left_behind()) == (S.FAILED, ([], {}))

    fake_terraform.fail_on(None)
    # a new service is another run: it could not take a lease the failed run had kept
    deployed = make_service(fake_terraform.runner()).process(RUNTIME.consumer_bucket_name, key)
    assert (deployed.status, left_behind()) == (S.DEPLOYED, ([], {}))
