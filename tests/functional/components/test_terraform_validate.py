"""``terraform validate`` of every component kind against the real AWS provider (5.100.0), not just our JSON tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.runner import TerraformRunner, find_terraform
from generator.terraform_setup import find_provider_mirror, prepare
from tests.functional.components.conftest import Synthesized

pytestmark = [
    pytest.mark.xdist_group("components"),
    pytest.mark.skipif(find_terraform() is None, reason="needs the terraform binary"),
]

#: one stack of each kind and variant that changes which resources or arguments a stack has
VALIDATED = (
    "producer-https",
    "producer-https-iam",
    "producer-sqs",
    "producer-sqs-cross-account",
    "consumer-lambda",
    "consumer-lambda-cross-account",
    "consumer-sqs",
    "consumer-sqs-cross-account",
    "consumer-https",
    "consumer-https-oauth",
    "local-consumer-sqs",
)


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> TerraformRunner:
    if find_provider_mirror() is None:
        pytest.skip("no offline copy of the AWS provider: validating would download it")
    return TerraformRunner(setup=prepare(tmp_path_factory.mktemp("terraform")), timeout_seconds=120)


@pytest.mark.parametrize("name", VALIDATED)
def test_the_provider_accepts_the_stack(
    name: str, synthesized: dict[str, Synthesized], runner: TerraformRunner, tmp_path: Path
) -> None:
    (tmp_path / "cdk.tf.json").write_text(json.dumps(synthesized[name].json))
    # raises TerraformError with the provider's message on any unknown argument, wrong type or bad reference
    runner.validate(tmp_path)
