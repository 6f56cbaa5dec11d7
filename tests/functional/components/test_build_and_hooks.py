"""build_component_stack is pure and the same for destroy; component_hooks; checkov over every kind."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cdktf
import pytest

from broker_contract.models import ConsumerDeployment, DeploymentAction, LambdaConsumer, SqsConsumer
from component_stacks.dispatch import (
    UndeliverableSubscription,
    build_component_stack,
    component_hooks,
    consumer_problems,
)
from component_stacks.hooks import ComponentHooks
from tests.functional.components.conftest import RUNTIME, Synthesized
from tests.support.checkov import scan

pytestmark = pytest.mark.xdist_group("components")


@pytest.mark.parametrize("name", ["producer-https", "consumer-https"])
def test_a_later_destroy_file_builds_the_very_same_stack(synthesized: dict[str, Synthesized], name: str) -> None:
    """Same inputs, same stack: another deployment id, sequence or action changes nothing Terraform sees."""
    original = synthesized[name]
    later = original.deployment.model_copy(
        update={"deployment_id": "dep-00000000000000ff", "sequence": 7, "action": DeploymentAction.DESTROY}
    )
    stack = build_component_stack(cdktf.Testing.app(), later, RUNTIME)
    assert stack.node.id == original.stack_id
    assert json.loads(cdktf.Testing.synth(stack)) == original.json


@pytest.mark.parametrize(
    ("name", "consumer", "kind"),
    [
        (
            "consumer-lambda",
            LambdaConsumer(connection_string="arn:aws:lambda:us-east-1:111122223333:function:f"),
            "function",
        ),
        ("consumer-sqs", SqsConsumer(connection_string="arn:aws:sqs:us-east-1:444455556666:orders"), "queue"),
    ],
)
def test_a_target_in_another_region_is_refused_before_any_stack_exists(
    synthesized: dict[str, Synthesized], name: str, consumer: LambdaConsumer | SqsConsumer, kind: str
) -> None:
    deployment = synthesized[name].deployment.model_copy(update={"consumer": consumer})
    assert isinstance(deployment, ConsumerDeployment)
    problem = (
        f"consumer.connection_string: the {kind} must be in the broker's region eu-west-1 "
        "(EventBridge rules deliver to functions and queues of their own region only), not us-east-1"
    )
    assert consumer_problems(deployment, RUNTIME) == [problem]
    app = cdktf.Testing.app()
    with pytest.raises(UndeliverableSubscription) as raised:
        build_component_stack(app, deployment, RUNTIME)
    assert str(raised.value) == problem
    assert app.node.children == []


def test_targets_of_the_broker_region_have_no_problem(synthesized: dict[str, Synthesized]) -> None:
    for built in synthesized.values():
        if isinstance(built.deployment, ConsumerDeployment):
            assert consumer_problems(built.deployment, RUNTIME) == []


def test_https_producer_hints(synthesized: dict[str, Synthesized]) -> None:
    for name in ("producer-https", "producer-https-iam"):
        deployment = synthesized[name].deployment
        for action in DeploymentAction:
            hints = component_hooks(deployment.model_copy(update={"action": action}), RUNTIME)
            assert hints == ComponentHooks(
                redeploy_api_stage=True, parent_resource_path="/order-created", instructions=hints.instructions
            )
            assert (hints.instructions is not None) is (action is DeploymentAction.DEPLOY)


def test_plain_consumers_need_nothing_around_apply(synthesized: dict[str, Synthesized]) -> None:
    for name in ("consumer-lambda", "consumer-https-noauth"):
        deployment = synthesized[name].deployment
        assert component_hooks(deployment, RUNTIME) == ComponentHooks()


def test_destroyed_consumers_need_no_secret_copy_nor_instructions(synthesized: dict[str, Synthesized]) -> None:
    for name in ("consumer-https", "consumer-sqs-unmanaged", "consumer-lambda-cross-account"):
        deployment = synthesized[name].deployment
        destroy = deployment.model_copy(update={"action": DeploymentAction.DESTROY})
        assert component_hooks(destroy, RUNTIME) == ComponentHooks()


def test_hints_never_carry_a_secret_value(synthesized: dict[str, Synthesized]) -> None:
    deployment = synthesized["consumer-https-oauth"].deployment
    assert isinstance(deployment, ConsumerDeployment)
    hints = component_hooks(deployment, RUNTIME)
    # only the reference the generator resolves after apply
    assert hints.auth is not None
    assert set(hints.auth.model_dump()) == {"secret_arn", "type", "token_url", "scopes"}


@pytest.mark.checkov
def test_checkov_finds_nothing_unexplained_in_any_component_kind(
    synthesized: dict[str, Synthesized], tmp_path: Path
) -> None:
    kinds = [
        "producer-https",
        "producer-https-iam",
        "producer-sqs",
        "consumer-lambda",
        "consumer-sqs",
        "consumer-https",
        "consumer-https-oauth",
    ]
    app = cdktf.Testing.app()
    stacks = [build_component_stack(app, synthesized[name].deployment, RUNTIME) for name in kinds]
    for stack in stacks:
        # a full synth keeps the "//" comments carrying the inline checkov skips
        stack_file = Path(cdktf.Testing.full_synth(stack)) / "stacks" / stack.node.id / "cdk.tf.json"
        target = tmp_path / stack.node.id
        target.mkdir()
        shutil.copy(stack_file, target / "cdk.tf.json")
    assert len(list(tmp_path.glob("*/cdk.tf.json"))) == len(kinds)
    assert scan(tmp_path) == []
