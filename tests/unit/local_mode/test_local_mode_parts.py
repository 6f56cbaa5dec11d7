"""Local mode's pieces on their own: settings, ports, process supervision, terraform rule, stack summaries.

No embedded AWS, portal or Terraform runs here: ports are probed on loopback and child processes are shells.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from broker_contract.config import RuntimeConfig
from generator.terraform_setup import platform_name
from local_mode import __main__ as cli
from local_mode import walkthrough
from local_mode.broker import LocalBroker
from local_mode.client import PortalClient, Response
from local_mode.processes import PortInUseError, Supervisor, check_ports, free_port, group_members, port_is_free
from local_mode.settings import LocalSettings, SettingsError
from local_mode.summary import describe, schema_outline
from local_mode.synth import FINGERPRINT_FILE, REPO, STACKS, fingerprint, is_current, stack_file
from local_mode.terraform import TerraformDecision, decide

# -- settings -----------------------------------------------------------------------------------------------


def test_ports_come_from_flags_then_variables_then_defaults() -> None:
    assert (LocalSettings.from_environment({}).moto_port, LocalSettings.from_environment({}).portal_port) == (
        4566,
        8000,
    )
    env = {"BROKER_LOCAL_MOTO_PORT": "5000", "BROKER_LOCAL_PORTAL_PORT": "5001"}
    assert LocalSettings.from_environment(env).moto_port == 5000
    assert LocalSettings.from_environment(env, portal_port=6000).portal_port == 6000


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BROKER_LOCAL_MOTO_PORT": "abc"}, "BROKER_LOCAL_MOTO_PORT must be a port number, got 'abc'"),
        ({"BROKER_LOCAL_PORTAL_PORT": "70000"}, "BROKER_LOCAL_PORTAL_PORT must be between 1 and 65535, got 70000"),
        ({"BROKER_LOCAL_MOTO_PORT": "7000", "BROKER_LOCAL_PORTAL_PORT": "7000"}, r"need three different ports"),
    ],
)
def test_unusable_port_settings_are_refused_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        LocalSettings.from_environment(env)


# -- ports ----------------------------------------------------------------------------------------------


def test_a_listening_port_is_reported_in_use() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_is_free(port) is False
        with pytest.raises(PortInUseError, match=f"portal port {port} already in use on 127.0.0.1"):
            check_ports({"moto": free_port(), "portal": port})
    assert port_is_free(port) is True


def test_command_exits_2_with_a_sentence_when_a_port_is_taken(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code = cli.main(["--once", "--moto-port", str(port), "--portal-port", str(free_port())])
    err = capsys.readouterr().err
    assert code == 2
    assert f"error: moto port {port} already in use on 127.0.0.1." in err
    assert "BROKER_LOCAL_MOTO_PORT=..." in err
    assert "Traceback" not in err


def test_command_exits_2_with_a_sentence_when_node_is_missing(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PATH"}
    env["PATH"] = str(tmp_path)  # no node here
    completed = subprocess.run(
        [sys.executable, "-m", "local_mode", "--once"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: Node.js not found: cdktf runs through jsii")
    assert "Install Node.js 18+" in completed.stderr
    assert "Traceback" not in completed.stderr


# -- process supervision ----------------------------------------------------------------------------------


def test_stopping_clears_the_whole_group_even_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path, stop_timeout=0.5)
    # a shell that ignores SIGTERM and has a grandchild doing the same
    script = "trap '' TERM; (trap '' TERM; sleep 60) & sleep 60; wait"
    managed = supervisor.start("stubborn", ["sh", "-c", script], dict(os.environ))
    deadline = time.monotonic() + 5
    while len(group_members(managed.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(group_members(managed.pid)) >= 2
    started = time.monotonic()
    supervisor.stop_all()
    assert group_members(managed.pid) == []
    assert managed.process.returncode == -9
    assert time.monotonic() - started < 5
    assert supervisor.processes == []


def test_child_output_goes_to_its_log_file(tmp_path: Path) -> None:
    supervisor = Supervisor(tmp_path)
    managed = supervisor.start("echo", ["sh", "-c", "echo hello from the child"], dict(os.environ))
    managed.process.wait(timeout=5)
    supervisor.stop_all()
    assert (tmp_path / "echo.log").read_text() == "hello from the child\n"


# -- terraform rule -------------------------------------------------------------------------------------


@pytest.fixture
def fake_terraform(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    binary = bin_dir / "terraform"
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(0o755)
    return bin_dir


def test_terraform_runs_with_the_registry_when_no_offline_provider_is_found(
    fake_terraform: Path, tmp_path: Path
) -> None:
    decision = decide({"PATH": str(fake_terraform)}, home=tmp_path / "home", roots=())
    assert decision.usable is True
    assert decision.reason == f"terraform at {fake_terraform / 'terraform'}, AWS provider from the Terraform registry"


def test_terraform_uses_an_offline_mirror_when_one_holds_the_provider(fake_terraform: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "opt" / "tf-plugins"
    unpacked = mirror / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0" / platform_name()
    unpacked.mkdir(parents=True)
    (unpacked / "terraform-provider-aws_v5.100.0_x5").write_text("")
    decision = decide({"PATH": str(fake_terraform)}, home=tmp_path / "home", roots=(str(tmp_path / "opt"),))
    assert decision.reason.endswith(f"AWS provider from the offline mirror {mirror}")


def test_terraform_can_be_turned_off_and_is_off_without_a_binary(fake_terraform: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert decide({"PATH": str(fake_terraform), "BROKER_LOCAL_TERRAFORM": "0"}, home=home, roots=()).usable is False
    missing = decide({"PATH": str(tmp_path / "empty")}, home=home, roots=())
    assert (missing.usable, missing.reason) == (
        False,
        "no terraform binary on the PATH: deployments stop at 'synthesized'",
    )


# -- stack summaries ------------------------------------------------------------------------------------

CONSUMER_STACK = {
    "resource": {
        "aws_cloudwatch_event_rule": {
            "rule": {
                "name": "local-sub-0123456789abcdef",
                "event_bus_name": "local.custom.events.bus",
                "event_pattern": (
                    '{"detail-type":["order_placed.1"],"detail":{"metadata":{"event_attributes":'
                    '{"target":["billing"]}},"data":{"currency":["EUR"]}}}'
                ),
            }
        },
        "aws_cloudwatch_event_target": {
            "target": {
                "rule": "${aws_cloudwatch_event_rule.rule.name}",
                "arn": "arn:aws:lambda:eu-west-1:123456789012:function:billing-invoicer",
            }
        },
    }
}


def test_a_consumer_stack_is_summarised_with_its_rule_pattern_and_target() -> None:
    assert describe(CONSUMER_STACK) == [
        "rule local-sub-0123456789abcdef: "
        '{"detail-type":["order_placed.1"],"detail":{"metadata":{"event_attributes":{"target":["billing"]}},'
        '"data":{"currency":["EUR"]}}}',
        "  target arn:aws:lambda:eu-west-1:123456789012:function:billing-invoicer",
    ]


def test_schema_outline_lists_data_fields_and_marks_required_ones() -> None:
    schema = {"properties": {"data": {"properties": {"a": {"type": "string"}, "b": {}}, "required": ["a"]}}}
    assert schema_outline(schema) == "data{a*:string, b:?}"


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (TerraformDecision(False, "no offline AWS provider"), "off"),
        (TerraformDecision(True, "forced", binary="/opt/tf/terraform"), "/opt/tf/terraform"),
    ],
)
def test_the_worker_runs_terraform_only_when_it_is_usable(
    tmp_path: Path, decision: TerraformDecision, expected: str
) -> None:
    broker = LocalBroker(LocalSettings(workdir=tmp_path, terraform=decision))
    runtime = RuntimeConfig.model_validate({name: f"x-{name}" for name in RuntimeConfig.output_names()})
    command = broker.worker_command(runtime)
    assert command[command.index("--terraform") + 1] == expected


# -- synthesis reuse and printed commands ---------------------------------------------------------------------


def test_core_stacks_are_reused_only_while_sources_and_config_are_unchanged(tmp_path: Path) -> None:
    config = LocalSettings().environment_config()
    for stack in STACKS:
        stack_file(tmp_path, stack).parent.mkdir(parents=True)
        stack_file(tmp_path, stack).write_text("{}")
    moto = "http://127.0.0.1:4566"
    assert is_current(config, tmp_path, moto) is False  # never synthesized here: no fingerprint
    (tmp_path / FINGERPRINT_FILE).write_text(fingerprint(config, moto))
    assert is_current(config, tmp_path, moto) is True
    assert is_current(config.model_copy(update={"region": "us-east-1"}), tmp_path, moto) is False
    # the local variant names its embedded AWS: another port is another variant
    assert is_current(config, tmp_path, "http://127.0.0.1:4567") is False
    stack_file(tmp_path, "broker").unlink()
    assert is_current(config, tmp_path, moto) is False


def test_the_workdir_can_be_moved_with_a_variable(tmp_path: Path) -> None:
    assert LocalSettings.from_environment({}).workdir == REPO / ".local"
    assert LocalSettings.from_environment({"BROKER_LOCAL_WORKDIR": str(tmp_path)}).workdir == tmp_path


def test_printed_curl_commands_name_a_real_deployment_or_none() -> None:
    with_deployment = cli.curl_examples("http://127.0.0.1:8000", "dep-0123456789abcdef")
    assert with_deployment[3:5] == [
        'curl -s -H "Authorization: Bearer demo-shop-token" http://127.0.0.1:8000/deployments/dep-0123456789abcdef',
        'curl -s -H "Authorization: Bearer demo-shop-token" '
        "http://127.0.0.1:8000/deployments/dep-0123456789abcdef/terraform",
    ]
    # without a walk-through there is no deployment to name: no placeholder the shell would mangle
    without = cli.curl_examples("http://127.0.0.1:8000")
    assert [line for line in without if "/deployments/" in line or "<" in line] == []
    assert without[-1] == "curl -s http://127.0.0.1:8000/openapi.json"


def test_two_taken_ports_are_named_in_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as moto, socket.socket() as portal:
        for listener in (moto, portal):
            listener.bind(("127.0.0.1", 0))
            listener.listen()
        ports = [moto.getsockname()[1], portal.getsockname()[1]]
        code = cli.main(["--once", "--moto-port", str(ports[0]), "--portal-port", str(ports[1])])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"error: moto port {ports[0]} and portal port {ports[1]} already in use on 127.0.0.1. Stop what uses them,"
    )
    assert err.count("\n") == 1


class ScriptedPortal(PortalClient):
    """Answers ``GET /deployments/{id}`` with the next status of a script."""

    def __init__(self, *statuses: str) -> None:
        super().__init__("http://127.0.0.1:9")
        self.statuses = list(statuses)

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None) -> Response:
        return Response(200, {"deployment_id": path.rsplit("/", 1)[1], "status": self.statuses.pop(0)})


def test_waiting_for_deployments_prints_a_line_per_change_with_counts() -> None:
    # synthesized is a step on the way while the generator runs Terraform: only final statuses count
    portals = {
        "event": ScriptedPortal("pending", "synthesized", "deployed"),
        "sub": ScriptedPortal("pending", "pending", "failed"),
    }
    lines: list[str] = []
    records = walkthrough.wait_for(
        dict(portals), {"event": "dep-1", "sub": "dep-2"}, lines.append, interval=0, heartbeat=3600
    )
    assert [line.rsplit("  (", 1)[0] for line in lines] == [
        "  0/2 settled: 2 pending",
        "  0/2 settled: 1 synthesized, 1 pending",
        "  2/2 settled: 1 deployed, 1 failed",
    ]
    assert {label: record["status"] for label, record in records.items()} == {"event": "deployed", "sub": "failed"}


def test_waiting_repeats_the_progress_line_while_nothing_changes() -> None:
    lines: list[str] = []
    portals: dict[str, PortalClient] = {"event": ScriptedPortal("pending", "pending", "pending", "deployed")}
    walkthrough.wait_for(portals, {"event": "dep-1"}, lines.append, interval=0, heartbeat=0)
    assert [line.rsplit("  (", 1)[0] for line in lines] == ["  0/1 settled: 1 pending"] * 3 + [
        "  1/1 settled: 1 deployed"
    ]
