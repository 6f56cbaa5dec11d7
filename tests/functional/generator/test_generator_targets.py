"""The generator around consumer targets: rules enabled after the secret copy, queue encryption, shared queue policies.

The flow tests use recording actions and a fake terraform; the action tests run the real
``AwsPostApplyActions`` against moto (EventBridge, SQS, KMS, the DynamoDB lock table).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from broker_contract.catalog import queue_policy_lock_key
from broker_contract.examples import examples
from broker_contract.models import ConsumerDeployment, DeploymentAction, DeploymentStatus, SqsConsumer
from component_stacks.dispatch import component_hooks
from generator.aws_actions import (
    AwsPostApplyActions,
    QueuePolicyBusy,
    TargetQueueUnusable,
    key_policy_grants_events,
)
from generator.service import Outcome

from .conftest import ACCOUNT, NAMES, REGION, RUNTIME, Aws, FakeTerraform, RecordingActions

pytestmark = pytest.mark.xdist_group("generator")

S = DeploymentStatus
QUEUE_NAME = "warehouse-orders"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE_NAME}"
BUS = RUNTIME.event_bus_name


def same_account_sqs(subscription_id: str = "sub-00000000000000a2", **update: Any) -> ConsumerDeployment:
    base = examples()["consumer-sqs"]
    assert isinstance(base, ConsumerDeployment)
    return base.model_copy(
        update={"subscription_id": subscription_id, "consumer": SqsConsumer(connection_string=QUEUE_ARN), **update}
    )


# ---- the flow ------------------------------------------------------------------------------------


def test_same_account_queue_is_checked_before_apply_and_its_policy_converged_after(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deployment = same_account_sqs()
    actions = RecordingActions(terraform=fake_terraform, queue_check="could not check the key")
    key = aws.put_file(deployment)

    result = make_service(fake_terraform.runner(), actions).process(RUNTIME.consumer_bucket_name, key)

    assert result.status is S.DEPLOYED
    # the last number is how many terraform commands had run: the check before init, the policy after apply
    assert actions.calls == [
        ("check_queue_encryption", (QUEUE_ARN, 0)),
        ("converge_queue_policy", (QUEUE_ARN, "DevEventBrokerDeliveries", True, 3)),
    ]
    # what the broker could not check is told to the queue's owner
    assert aws.record(deployment.deployment_id).instructions == "could not check the key"

    destroy = deployment.model_copy(
        update={"deployment_id": "dep-00000000000000d9", "sequence": 2, "action": DeploymentAction.DESTROY}
    )
    actions.calls.clear()
    make_service(fake_terraform.runner(), actions).process(RUNTIME.consumer_bucket_name, aws.put_file(destroy))
    # no check on destroy; the statement goes only if no other subscription rule still targets the queue
    assert actions.calls == [("converge_queue_policy", (QUEUE_ARN, "DevEventBrokerDeliveries", False, 5))]


def test_a_queue_on_the_aws_managed_key_fails_the_deployment_before_terraform_runs(
    aws: Aws, make_service: Any, fake_terraform: FakeTerraform
) -> None:
    deployment = same_account_sqs()
    reason = f"target queue {QUEUE_ARN} is encrypted with the AWS managed key alias/aws/sqs"
    actions = RecordingActions(terraform=fake_terraform, queue_check=TargetQueueUnusable(reason))

    result = make_service(fake_terraform.runner(), actions).process(
        RUNTIME.consumer_bucket_name, aws.put_file(deployment)
    )

    assert (result.outcome, result.status) == (Outcome.RETRY, S.FAILED)
    assert aws.record(deployment.deployment_id).error == reason
    assert fake_terraform.commands() == []


# ---- the real actions under moto ----------------------------------------------------------------


@pytest.fixture
def bus_and_lock_table(aws: Aws) -> None:
    """The broker's bus (the catalog, which holds the queue-policy locks, comes with ``aws``)."""
    boto3.client("events", region_name=REGION).create_event_bus(Name=BUS)


@pytest.fixture
def actions(bus_and_lock_table: None) -> AwsPostApplyActions:
    return AwsPostApplyActions(lambda service: boto3.client(service, region_name=REGION))


def test_enable_rule_turns_on_the_rule_the_stack_created_disabled(actions: AwsPostApplyActions) -> None:
    events = boto3.client("events", region_name=REGION)
    rule = NAMES.consumer("sub-00000000000000a3").rule
    events.put_rule(Name=rule, EventBusName=BUS, EventPattern='{"source": ["payments"]}', State="DISABLED")

    actions.enable_rule(rule, BUS)

    assert events.describe_rule(Name=rule, EventBusName=BUS)["State"] == "ENABLED"


def _queue(aws: Aws, **attributes: str) -> str:
    return str(aws.sqs.create_queue(QueueName=QUEUE_NAME, Attributes=attributes)["QueueUrl"])


def _key(statements: list[dict[str, Any]]) -> str:
    """A customer managed key whose policy is the account's root plus ``statements``; its ARN."""
    root = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*"}
    policy = {"Version": "2012-10-17", "Statement": [{**s, "Resource": "*"} for s in (root, *statements)]}
    created = boto3.client("kms", region_name=REGION).create_key(Policy=json.dumps(policy))
    return str(created["KeyMetadata"]["Arn"])


def test_sse_sqs_and_a_key_granting_eventbridge_pass_the_check(aws: Aws, actions: AwsPostApplyActions) -> None:
    url = _queue(aws, SqsManagedSseEnabled="true")
    assert actions.check_queue_encryption(QUEUE_ARN) is None
    grant = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:GenerateDataKey*"}
    decrypt = {"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com"]}, "Action": ["kms:Decrypt"]}
    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"KmsMasterKeyId": _key([grant, decrypt])})
    assert actions.check_queue_encryption(QUEUE_ARN) is None


def test_a_queue_on_the_aws_managed_key_is_refused_with_what_to_do(aws: Aws, actions: AwsPostApplyActions) -> None:
    _queue(aws, KmsMasterKeyId="alias/aws/sqs")
    with pytest.raises(TargetQueueUnusable, match="AWS managed key alias/aws/sqs, which EventBridge cannot use"):
        actions.check_queue_encryption(QUEUE_ARN)


def test_a_key_without_a_grant_to_eventbridge_is_refused_with_the_statement_to_add(
    aws: Aws, actions: AwsPostApplyActions
) -> None:
    only_encrypt = {
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "kms:GenerateDataKey",
    }
    key_arn = _key([only_encrypt])
    _queue(aws, KmsMasterKeyId=key_arn)
    with pytest.raises(TargetQueueUnusable) as raised:
        actions.check_queue_encryption(QUEUE_ARN)
    message = str(raised.value)
    assert f"KMS key {key_arn}, whose key policy does not allow events.amazonaws.com" in message
    statement = json.loads(message.split("\n", 1)[1])
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]


def test_a_missing_target_queue_is_refused(actions: AwsPostApplyActions) -> None:
    with pytest.raises(TargetQueueUnusable, match="does not exist"):
        actions.check_queue_encryption(QUEUE_ARN)


OWNER_STATEMENT = {
    "Sid": "OwnerOwnApp",
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/warehouse-app"},
    "Action": "sqs:ReceiveMessage",
    "Resource": QUEUE_ARN,
}


def _policy(aws: Aws, url: str) -> list[dict[str, Any]]:
    raw = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy")
    return list(json.loads(raw)["Statement"]) if raw else []


def _subscribe(subscription_id: str) -> tuple[str, dict[str, Any]]:
    """What apply does for a subscription on the queue: its rule targets the queue; and the hint's statement."""
    rule = NAMES.consumer(subscription_id).rule
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name=rule, EventBusName=BUS, EventPattern='{"source": ["shop"]}')
    events.put_targets(Rule=rule, EventBusName=BUS, Targets=[{"Id": "t", "Arn": QUEUE_ARN}])
    shared = component_hooks(same_account_sqs(subscription_id), RUNTIME).shared_queue_policy
    assert shared is not None
    return rule, shared.statement


def _unsubscribe(rule: str) -> None:
    events = boto3.client("events", region_name=REGION)
    events.remove_targets(Rule=rule, EventBusName=BUS, Ids=["t"])
    events.delete_rule(Name=rule, EventBusName=BUS)


def test_subscriptions_on_one_queue_share_one_statement_that_outlives_all_but_the_last(
    aws: Aws, actions: AwsPostApplyActions
) -> None:
    url = _queue(aws)
    aws.sqs.set_queue_attributes(
        QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [OWNER_STATEMENT]})}
    )
    settings = {"rule_prefix": "dev-sub-", "event_bus_name": BUS, "catalog_table": RUNTIME.catalog_table_name}
    rule_a, statement = _subscribe("sub-000000000000000a")
    assert actions.converge_queue_policy(QUEUE_ARN, statement, needed=True, **settings) is True
    rule_b, statement_b = _subscribe("sub-000000000000000b")
    assert statement_b == statement
    # the second subscription finds its permission there already: nothing is overwritten
    assert actions.converge_queue_policy(QUEUE_ARN, statement, needed=True, **settings) is False
    assert _policy(aws, url) == [OWNER_STATEMENT, statement]

    _unsubscribe(rule_a)
    # a's destroy: b's rule still targets the queue, so the statement stays
    assert actions.converge_queue_policy(QUEUE_ARN, statement, needed=False, **settings) is False
    assert _policy(aws, url) == [OWNER_STATEMENT, statement]

    _unsubscribe(rule_b)
    assert actions.converge_queue_policy(QUEUE_ARN, statement, needed=False, **settings) is True
    # the owner's own statement was never touched
    assert _policy(aws, url) == [OWNER_STATEMENT]
    # and nothing is left locked
    lock = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=RUNTIME.catalog_table_name,
        Key={name: {"S": value} for name, value in queue_policy_lock_key(QUEUE_ARN).items()},
    )
    assert "Item" not in lock


def test_the_last_statement_removed_leaves_the_queue_without_policy(aws: Aws, actions: AwsPostApplyActions) -> None:
    url = _queue(aws)
    settings = {"rule_prefix": "dev-sub-", "event_bus_name": BUS, "catalog_table": RUNTIME.catalog_table_name}
    rule, statement = _subscribe("sub-000000000000000c")
    actions.converge_queue_policy(QUEUE_ARN, statement, needed=True, **settings)
    assert _policy(aws, url) == [statement]
    _unsubscribe(rule)
    actions.converge_queue_policy(QUEUE_ARN, statement, needed=False, **settings)
    assert _policy(aws, url) == []


def _hold_lock(expires_at: int) -> None:
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=RUNTIME.catalog_table_name,
        Item={
            **{name: {"S": value} for name, value in queue_policy_lock_key(QUEUE_ARN).items()},
            "owner": {"S": "another-run"},
            "expires_at": {"N": str(expires_at)},
        },
    )


def test_a_held_queue_lock_makes_the_run_wait_then_give_up(aws: Aws, bus_and_lock_table: None) -> None:
    _queue(aws)
    now = [1_000_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    actions = AwsPostApplyActions(lambda s: boto3.client(s, region_name=REGION), sleep=sleep, clock=lambda: now[0])
    _hold_lock(expires_at=int(now[0]) + 3600)
    _, statement = _subscribe("sub-000000000000000d")
    with pytest.raises(QueuePolicyBusy):
        actions.converge_queue_policy(
            QUEUE_ARN,
            statement,
            rule_prefix="dev-sub-",
            needed=True,
            event_bus_name=BUS,
            catalog_table=RUNTIME.catalog_table_name,
        )
    assert 55 <= sum(slept) <= 61
    # a lock whose lease ran out belongs to a dead run: it is taken over
    _hold_lock(expires_at=int(now[0]) - 1)
    assert actions.converge_queue_policy(
        QUEUE_ARN,
        statement,
        rule_prefix="dev-sub-",
        needed=True,
        event_bus_name=BUS,
        catalog_table=RUNTIME.catalog_table_name,
    )


@pytest.mark.parametrize(
    ("statements", "granted"),
    [
        ([{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:*"}], True),
        (
            [
                {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:*"},
                {"Effect": "Deny", "Principal": {"Service": "events.amazonaws.com"}, "Action": "kms:Decrypt"},
            ],
            False,
        ),
        ([{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*"}], False),
        ([{"Effect": "Allow", "Principal": {"Service": "sqs.amazonaws.com"}, "Action": "kms:*"}], False),
        # a single statement object, not a list, is valid policy JSON too
        (
            {
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com"]},
                "Action": ["kms:GenerateDataKey*", "KMS:decrypt"],
            },
            True,
        ),
    ],
)
def test_key_policy_reading(statements: Any, granted: bool) -> None:
    assert key_policy_grants_events({"Version": "2012-10-17", "Statement": statements}) is granted


class _DeniedSqs:
    """An SQS client of a generator the queue's owner did not let in (untagged queue)."""

    def get_queue_url(self, **_: Any) -> dict[str, str]:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not tagged"}}, "GetQueueUrl")


def test_a_queue_the_broker_may_not_read_is_applied_with_what_its_owner_must_check() -> None:
    actions = AwsPostApplyActions(lambda service: _DeniedSqs())
    note = actions.check_queue_encryption(QUEUE_ARN)
    assert note is not None
    assert f"could not check how queue {QUEUE_ARN} is encrypted" in note
    assert "alias/aws/sqs" in note
    assert "events.amazonaws.com kms:GenerateDataKey and kms:Decrypt" in note


def test_a_destroy_after_the_queue_is_gone_changes_nothing(actions: AwsPostApplyActions) -> None:
    shared = component_hooks(same_account_sqs(), RUNTIME).shared_queue_policy
    assert shared is not None
    changed = actions.converge_queue_policy(
        QUEUE_ARN,
        shared.statement,
        rule_prefix="dev-sub-",
        needed=False,
        event_bus_name=BUS,
        catalog_table=RUNTIME.catalog_table_name,
    )
    assert changed is False
