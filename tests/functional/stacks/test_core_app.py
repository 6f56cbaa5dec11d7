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


def test_module_entry_point_synthesizes_both_stacks(tmp_path: Path) -> None:
    environ = {key: value for key, value in os.environ.items() if not key.startswith("BROKER_")}
    completed = subprocess.run(
        [sys.executable, "-m", "cdktf_stacks", "--environment", "prod", "--outdir", str(tmp_path)],
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
    assert completed.stdout.split() == [
        str(tmp_path / "stacks" / name / "cdk.tf.json") for name in ("bootstrap", "broker")
    ]


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
