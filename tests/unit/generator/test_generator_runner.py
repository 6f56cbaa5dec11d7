"""TerraformRunner against fake terraform executables: arguments, directory, environment, errors."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from generator.runner import TerraformError, TerraformRunner, tail

RECORDER = """
import json, os, sys
from pathlib import Path
log = Path(os.environ["FAKE_TF_LOG"])
calls = json.loads(log.read_text()) if log.exists() else []
calls.append({"argv": sys.argv[1:], "cwd": os.getcwd(), "automation": os.environ.get("TF_IN_AUTOMATION"),
              "cache": os.environ.get("TF_PLUGIN_CACHE_DIR"), "has_stack": Path("cdk.tf.json").is_file()})
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
    runner = TerraformRunner(
        str(binary), environ={"FAKE_TF_LOG": str(log)}, plugin_cache_dir=tmp_path / "cache", timeout_seconds=30
    )

    runner.init(workdir)
    runner.apply(workdir)
    outputs = runner.output(workdir)
    runner.destroy(workdir)

    calls = json.loads(log.read_text())
    assert [call["argv"] for call in calls] == [
        ["init", "-input=false", "-no-color"],
        ["apply", "-auto-approve", "-input=false", "-no-color"],
        ["output", "-json", "-no-color"],
        ["destroy", "-auto-approve", "-input=false", "-no-color"],
    ]
    assert {call["cwd"] for call in calls} == {str(workdir)}
    assert all(call["automation"] == "1" and call["has_stack"] for call in calls)
    assert {call["cache"] for call in calls} == {str(tmp_path / "cache")}
    assert (tmp_path / "cache").is_dir()
    assert outputs == {"url": "https://x", "n": 3}


def test_failure_names_the_command_and_keeps_the_tail_of_stderr(tmp_path: Path, workdir: Path) -> None:
    runner = TerraformRunner(str(executable(tmp_path, "terraform", FAILING)), environ={})

    with pytest.raises(TerraformError) as caught:
        runner.init(workdir)

    message = str(caught.value)
    assert message.startswith("`terraform init -input=false -no-color` failed: exit code 3: ...")
    assert message.endswith("Error: Failed to get existing workspaces: AccessDenied")
    assert len(caught.value.detail) < 2100


def test_timeout_is_an_error(tmp_path: Path, workdir: Path) -> None:
    slow = executable(tmp_path, "terraform", "import time\ntime.sleep(5)")
    runner = TerraformRunner(str(slow), environ={}, timeout_seconds=0.5)

    with pytest.raises(TerraformError, match=r"timed out after 0\.5s"):
        runner.apply(workdir)


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
