"""TerraformRunner against fake terraform executables: arguments, directory, environment, errors."""

from __future__ import annotations

import json
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.runner import StateLocked, TerraformError, TerraformRunner, tail
from generator.terraform_setup import prepare

RECORDER = """
import json, os, sys
from pathlib import Path
log = Path(os.environ["FAKE_TF_LOG"])
calls = json.loads(log.read_text()) if log.exists() else []
calls.append({"argv": sys.argv[1:], "cwd": os.getcwd(), "automation": os.environ.get("TF_IN_AUTOMATION"),
              "cache": os.environ.get("TF_PLUGIN_CACHE_DIR"), "has_stack": Path("cdk.tf.json").is_file(),
              "config": os.environ.get("TF_CLI_CONFIG_FILE"), "checkpoint": os.environ.get("CHECKPOINT_DISABLE")})
log.write_text(json.dumps(calls))
if sys.argv[1] == "output":
    print(json.dumps({"url": {"value": "https://x", "sensitive": False}, "secret": {"value": "s", "sensitive": True},
                      "n": {"value": 3}}))
"""

FAILING = """
import sys
sys.stdout.write("Initializing the backend...")
sys.stderr.write("noise " * 1000 + "Error: Failed to get existing workspaces: AccessDenied")
sys.exit(3)
"""


def executable(directory: Path, name: str, code: str) -> Path:
    path = directory / name
    path.write_text(f"#!{sys.executable}\n{code}")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    directory = tmp_path / "stacks" / "consumer-sub-1"
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text("{}")
    return directory


def test_commands_run_in_the_stack_directory_non_interactively(tmp_path: Path, workdir: Path) -> None:
    log = tmp_path / "log.json"
    binary = executable(tmp_path, "terraform", RECORDER)
    setup = prepare(tmp_path / "setup", environ={}, home=tmp_path, roots=())
    runner = TerraformRunner(str(binary), environ={"FAKE_TF_LOG": str(log)}, setup=setup, timeout_seconds=30)

    runner.init(workdir)
    runner.apply(workdir)
    outputs = runner.output(workdir)
    runner.destroy(workdir)

    calls = json.loads(log.read_text())
    assert [call["argv"] for call in calls] == [
        ["init", "-input=false", "-no-color"],
        ["apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=120s"],
        ["output", "-json", "-no-color"],
        ["destroy", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=120s"],
    ]
    assert {call["cwd"] for call in calls} == {str(workdir)}
    assert all(call["automation"] == "1" and call["has_stack"] and call["checkpoint"] == "1" for call in calls)
    # every run uses the project's CLI configuration and one shared plugin cache, never the user's own file
    assert {call["config"] for call in calls} == {str(setup.config_file)}
    assert {call["cache"] for call in calls} == {str(setup.plugin_cache)}
    assert setup.plugin_cache.is_dir()
    assert outputs == {"url": "https://x", "n": 3}


def test_failure_names_the_command_and_keeps_the_tail_of_stderr(tmp_path: Path, workdir: Path) -> None:
    runner = TerraformRunner(str(executable(tmp_path, "terraform", FAILING)), environ={})

    with pytest.raises(TerraformError) as caught:
        runner.init(workdir)

    message = str(caught.value)
    assert message.startswith("`terraform init -input=false -no-color` failed: exit code 3: ...")
    assert message.endswith("Error: Failed to get existing workspaces: AccessDenied")
    assert len(caught.value.detail) < 2100


INTERRUPTIBLE = """
import signal, sys, time
from pathlib import Path
def stop(signum, frame):
    Path("interrupted").write_text("state saved, lock released")
    sys.exit(130)
signal.signal(signal.SIGINT, stop)
time.sleep(30)
"""


def test_a_run_over_its_time_is_interrupted_so_terraform_can_release_its_lock(tmp_path: Path, workdir: Path) -> None:
    slow = executable(tmp_path, "terraform", INTERRUPTIBLE)
    runner = TerraformRunner(str(slow), environ={}, timeout_seconds=1.5)

    with pytest.raises(TerraformError, match=r"timed out after 1\.5s and was interrupted"):
        runner.apply(workdir)
    # SIGINT, not SIGKILL: Terraform's own handler ran (it saves state and releases the lock there)
    assert (workdir / "interrupted").read_text() == "state saved, lock released"


def test_the_deadline_shortens_the_time_limit_and_nothing_starts_without_time(tmp_path: Path, workdir: Path) -> None:
    log = tmp_path / "log.json"
    runner = TerraformRunner(str(executable(tmp_path, "terraform", RECORDER)), environ={"FAKE_TF_LOG": str(log)})

    with pytest.raises(TerraformError, match="no time left before the deadline"):
        runner.apply(workdir, deadline=time.monotonic() + 0.5)
    assert not log.exists()


LOCKED = '''
import sys
sys.stderr.write("""Error: Error acquiring the state lock

Lock Info:
  ID:        6f1d2a4c-6b7e-2a3f-9c1d-0a1b2c3d4e5f
  Path:      dev-eb-tfstate/dev/consumers/sub-1/terraform.tfstate
  Operation: OperationTypeApply
  Version:   1.11.4
  Created:   2026-11-29 08:00:00.123456789 +0000 UTC
""")
sys.exit(1)
'''


def test_a_held_state_lock_is_reported_with_its_id_and_age(tmp_path: Path, workdir: Path) -> None:
    runner = TerraformRunner(str(executable(tmp_path, "terraform", LOCKED)), environ={})

    with pytest.raises(StateLocked) as caught:
        runner.apply(workdir)

    assert caught.value.lock_id == "6f1d2a4c-6b7e-2a3f-9c1d-0a1b2c3d4e5f"
    assert caught.value.created == datetime(2026, 11, 29, 8, 0, 0, 123456, tzinfo=UTC)


def test_directory_without_stack_is_refused_before_running(tmp_path: Path) -> None:
    runner = TerraformRunner(str(executable(tmp_path, "terraform", RECORDER)), environ={})

    with pytest.raises(TerraformError, match=r"no cdk\.tf\.json in"):
        runner.init(tmp_path)


def test_missing_binary_means_not_available(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    runner = TerraformRunner()

    assert runner.available is False
    with pytest.raises(TerraformError, match="terraform binary not found"):
        runner.apply(tmp_path)


def test_binary_on_path_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    binary = executable(tmp_path, "terraform", RECORDER)
    monkeypatch.setenv("PATH", str(tmp_path))

    assert TerraformRunner().binary == str(binary)


def test_tail_marks_cut_text() -> None:
    assert tail("  short  ") == "short"
    assert tail("abcdef", limit=3) == "...def"


def test_disabled_runner_is_never_available(tmp_path: Path) -> None:
    binary = executable(tmp_path, "terraform", RECORDER)
    assert TerraformRunner(str(binary), enabled=False).available is False
