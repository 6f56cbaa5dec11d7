"""``terraform validate`` of both core stacks against the real AWS provider (5.100.0)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cdktf_stacks.app import BOOTSTRAP_STACK, BROKER_STACK
from generator.runner import TerraformRunner, find_terraform
from generator.terraform_setup import find_provider_mirror, prepare
from tests.functional.stacks.conftest import Core

pytestmark = [
    pytest.mark.xdist_group("core-stacks"),
    pytest.mark.skipif(find_terraform() is None, reason="needs the terraform binary"),
]


@pytest.mark.parametrize("stack", [BOOTSTRAP_STACK, BROKER_STACK])
def test_the_provider_accepts_the_core_stack(stack: str, core: Core, tmp_path: Path) -> None:
    if find_provider_mirror() is None:
        pytest.skip("no offline copy of the AWS provider: validating would download it")
    shutil.copy(core.outdir / "stacks" / stack / "cdk.tf.json", tmp_path / "cdk.tf.json")
    runner = TerraformRunner(setup=prepare(tmp_path / "setup"), timeout_seconds=120)
    runner.validate(tmp_path)
