"""Deployment configuration: the Chalice stages and their filling from the broker stack's outputs."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_checked_in_stages_hold_no_placeholder_and_no_variable() -> None:
    # a stage's environment is what chalicelib.settings.PortalStage makes of the broker outputs
    # (python -m cdktf_stacks.outputs), and chalice local --stage local lets the stage's variables win over
    # the process environment: the checked-in file pins none, so local mode's names reach the portal.
    document = json.loads((ROOT / "portal_chalice/.chalice/config.json").read_text())
    assert set(document["stages"]) == {"dev", "prod", "local"}
    assert "${" not in json.dumps(document)
    assert "environment_variables" not in document
    assert all("environment_variables" not in stage for stage in document["stages"].values())


def test_manage_command_runs_from_the_portal_directory() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chalicelib.manage", "--help"],
        cwd=ROOT / "portal_chalice",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "{reconcile,rebuild-registry,recount-quotas}" in result.stdout


def test_the_lambda_bundle_carries_no_test_wiring() -> None:
    # everything under portal_chalice/ (but vendor/) is zipped into the Lambda: moto and test helpers stay out
    imported: dict[str, set[str]] = {}
    for path in sorted((ROOT / "portal_chalice").rglob("*.py")):
        if "vendor" in path.relative_to(ROOT / "portal_chalice").parts:
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        imported[str(path.relative_to(ROOT))] = names
    assert "portal_chalice/app.py" in imported
    assert {path: names & {"tests", "pytest"} for path, names in imported.items() if names & {"tests", "pytest"}} == {}
    # moto's EventBridge pattern matcher is the one runtime use of moto; it ships as a pinned requirement
    assert {path for path, names in imported.items() if "moto" in names} == {
        "portal_chalice/chalicelib/services/trial.py"
    }
    requirements = (ROOT / "portal_chalice/requirements.txt").read_text().split()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert "moto==5.2.5" in requirements
    assert '"moto==5.2.5"' in pyproject
