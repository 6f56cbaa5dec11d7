"""``python -m cdktf_stacks`` end to end, and checkov over both core stacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("core-stacks")

ROOT = Path(__file__).resolve().parents[3]


def test_module_entry_point_synthesizes_both_stacks_where_the_cdktf_cli_looks(tmp_path: Path) -> None:
    # the cdktf CLI runs the app of cdktf.json with CDKTF_OUTDIR set; BROKER_ENVIRONMENT picks the environment
    environ = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    environ |= {"CDKTF_OUTDIR": str(tmp_path), "BROKER_ENVIRONMENT": "prod"}
    completed = subprocess.run(
        [sys.executable, "-m", "cdktf_stacks"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    written = {path.parent.name for path in tmp_path.glob("stacks/*/cdk.tf.json")}
    assert written == {"bootstrap", "broker"}
    broker = json.loads((tmp_path / "stacks" / "broker" / "cdk.tf.json").read_text())
    assert broker["terraform"]["backend"]["s3"]["key"] == "prod/core/broker.tfstate"
    bootstrap = json.loads((tmp_path / "stacks" / "bootstrap" / "cdk.tf.json").read_text())
    assert bootstrap["terraform"]["backend"] == {"local": {"path": str(ROOT / "terraform.prod.bootstrap.tfstate")}}
    assert completed.stdout.split() == [
        str(tmp_path / "stacks" / name / "cdk.tf.json") for name in ("bootstrap", "broker")
    ]
    # what `cdktf deploy <stack>` reads to find each stack
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert {name: stack["synthesizedStackPath"] for name, stack in manifest["stacks"].items()} == {
        "bootstrap": "stacks/bootstrap/cdk.tf.json",
        "broker": "stacks/broker/cdk.tf.json",
    }


def test_cdktf_json_runs_the_module_entry_point() -> None:
    assert json.loads((ROOT / "cdktf.json").read_text())["app"] == ".venv/bin/python -m cdktf_stacks"


def test_module_entry_point_refuses_a_bad_environment(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "cdktf_stacks", "--environment", "Bad!", "--outdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "invalid configuration for environment 'Bad!'" in completed.stderr
    assert list(tmp_path.iterdir()) == []
