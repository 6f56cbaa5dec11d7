"""``portal_chalice/package_portal.py``: what ``make package-portal`` refuses, and how it packages a filled stage."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from package_portal import PackagingError, package, stage_problems

from broker_contract.config import RuntimeConfig
from broker_contract.names import BrokerNames
from cdktf_stacks.outputs import write_chalice_config

ROOT = Path(__file__).resolve().parents[3]
ROLE = "arn:aws:iam::123456789012:role/dev-event-broker-portal"
POOL = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Abc"
#: the shell of someone who never configured AWS: no region anywhere
NO_REGION = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}


def outputs(region: str = "eu-west-1") -> dict[str, Any]:
    runtime = RuntimeConfig.derived(BrokerNames("dev", region, "123456789012"), "api0000001", "root000001")
    return {**runtime.model_dump(), "portal_role_arn": ROLE, "portal_user_pool_arn": POOL}


def portal_copy(tmp_path: Path, filled: dict[str, Any] | None = None) -> Path:
    """A copy of the portal project; its dev stage filled from ``filled`` outputs as the deploy glue does."""
    portal = tmp_path / "portal_chalice"
    shutil.copytree(ROOT / "portal_chalice", portal, ignore=shutil.ignore_patterns("__pycache__", "vendor"))
    if filled is not None:
        write_chalice_config(portal / ".chalice" / "config.json", "dev", filled)
    return portal


class FakeChalice:
    """Records the ``chalice package`` call and writes the template it would."""

    def __init__(self, template: str = '{"Resources": {}}') -> None:
        self.template = template
        self.calls: list[dict[str, Any]] = []

    def __call__(self, command: list[str], *, cwd: Path, env: dict[str, str], check: bool) -> Any:
        self.calls.append({"command": command, "cwd": cwd, "env": env})
        output = Path(command[-1])
        output.mkdir(parents=True, exist_ok=True)
        (output / "sam.json").write_text(self.template)
        return subprocess.CompletedProcess(command, 0)


def test_the_checked_in_stage_is_refused_with_every_problem_and_the_way_to_fill_it(tmp_path: Path) -> None:
    chalice = FakeChalice()
    with pytest.raises(PackagingError) as refused:
        package("dev", tmp_path / "out", portal_dir=ROOT / "portal_chalice", project=tmp_path / "p", run=chalice)
    message = str(refused.value)
    assert "BROKER_CATALOG_TABLE_NAME" in message
    assert "needs iam_role_arn (the broker stack's portal_role_arn)" in message
    assert message.endswith("python -m cdktf_stacks.outputs --outputs-file outputs.json --stage dev")
    assert chalice.calls == []
    assert not (tmp_path / "out").exists()


def test_placeholders_anywhere_in_the_stage_are_refused() -> None:
    config = {
        "stages": {
            "dev": {
                "manage_iam_role": False,
                "iam_role_arn": "${BROKER_PORTAL_ROLE_ARN}",
                "environment_variables": {"BROKER_PORTAL_USER_POOL_ARN": "${BROKER_PORTAL_USER_POOL_ARN}"},
            }
        }
    }
    problems = stage_problems(config, "dev")
    assert "dev.iam_role_arn: '${BROKER_PORTAL_ROLE_ARN}' is an unresolved placeholder" in problems
    assert "BROKER_PORTAL_USER_POOL_ARN='${BROKER_PORTAL_USER_POOL_ARN}' is an unresolved placeholder" in problems
    assert stage_problems(config, "qa") == ["the Chalice config has no stage 'qa' (stages: dev)"]


def test_a_filled_stage_is_packaged_in_a_build_project_with_the_environment_region(tmp_path: Path) -> None:
    portal = portal_copy(tmp_path, outputs())
    chalice = FakeChalice()
    project = tmp_path / "build" / "portal-dev.project"
    template = package(
        "dev", tmp_path / "out", portal_dir=portal, repo=ROOT, project=project, environ=NO_REGION, run=chalice
    )
    assert template == tmp_path / "out" / "sam.json"
    [call] = chalice.calls
    assert call["command"][1:] == ["package", "--stage", "dev", str(tmp_path / "out")]
    assert call["cwd"] == project
    # the region of config/dev.json, though the shell has none
    assert (call["env"]["AWS_DEFAULT_REGION"], call["env"]["AWS_REGION"]) == ("eu-west-1", "eu-west-1")
    # the contract is vendored into the build project, never into the portal's source tree
    assert (project / "vendor" / "broker_contract" / "__init__.py").is_file()
    assert (project / "vendor" / "config" / "dev.json").is_file()
    assert (project / "chalicelib" / "settings.py").is_file()
    assert json.loads((project / ".chalice" / "config.json").read_text())["stages"]["dev"]["iam_role_arn"] == ROLE
    assert not (portal / "vendor").exists()


def test_a_stage_in_another_region_than_its_environment_is_refused(tmp_path: Path) -> None:
    portal = portal_copy(tmp_path, outputs(region="us-east-1"))
    chalice = FakeChalice()
    with pytest.raises(PackagingError, match=r"config/dev\.json puts environment 'dev' in eu-west-1, but the stage"):
        package("dev", tmp_path / "out", portal_dir=portal, project=tmp_path / "p", environ=NO_REGION, run=chalice)
    assert chalice.calls == []


def test_a_template_still_holding_placeholders_is_refused(tmp_path: Path) -> None:
    portal = portal_copy(tmp_path, outputs())
    chalice = FakeChalice('{"Role": "${BROKER_PORTAL_ROLE_ARN}"}')
    with pytest.raises(PackagingError, match=r"still holds placeholders \['\$\{BROKER_PORTAL_ROLE_ARN\}'\]"):
        package("dev", tmp_path / "out", portal_dir=portal, project=tmp_path / "p", environ=NO_REGION, run=chalice)


def test_make_package_portal_exits_2_and_names_the_command_that_fills_the_stage() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "portal_chalice" / "package_portal.py"), "dev", "/nonexistent/out"],
        env={**NO_REGION, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: stage 'dev' cannot be packaged:\n  - missing the broker's resource names")
