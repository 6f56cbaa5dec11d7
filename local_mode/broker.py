"""The local broker: moto_server as the embedded AWS, the core stacks provisioned in it, the portal and the worker.

``LocalBroker(settings).start()`` brings everything up in order and returns once the portal answers;
``stop()`` (also run at exit) stops every child it started. Both the ``python -m local_mode`` command and
the e2e test drive it.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import json
import logging
import os
import shlex
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from chalicelib.settings import AuthMode, PortalStage, RegistryMode

from broker_contract.config import ENDPOINT_URL_VARIABLE, RuntimeConfig
from generator.runner import TerraformRunner, find_terraform
from generator.settings import WORK_ROOT_VARIABLE
from generator.terraform_setup import TerraformSetup, prepare
from local_mode import snapshot
from local_mode.aws import aws_environment
from local_mode.core import CoreApplied, apply_core
from local_mode.embedded_aws import MOTO_VERSION
from local_mode.embedded_aws import command as embedded_aws_command
from local_mode.processes import (
    ManagedProcess,
    StartupError,
    Supervisor,
    answers_http,
    check_ports,
    wait_until,
)
from local_mode.settings import LocalSettings
from local_mode.synth import REPO, fingerprint, is_current, synthesize
from local_mode.terraform import TerraformDecision, decide

log = logging.getLogger(__name__)

PORTAL_DIR = REPO / "portal_chalice"
#: deployments the local generator worker applies at the same time
LOCAL_WORKERS = 8


class NodeMissingError(RuntimeError):
    """cdktf needs Node.js; raised before anything is started."""


class LocalModeError(RuntimeError):
    """Local mode could not start; the message says why and what to do."""


def require_node() -> None:
    """Raise NodeMissingError (with the platform's message) when Node.js is not on the PATH."""
    try:
        importlib.import_module("modules")
        provider = importlib.import_module("modules._provider")
        provider.prepare_jsii()
    except RuntimeError as error:
        provider_module = sys.modules.get("modules._provider")
        missing = getattr(provider_module, "NodeMissingError", None)
        if missing is not None and isinstance(error, missing):
            raise NodeMissingError(str(error)) from error
        raise


@dataclass
class Readiness:
    """What the launcher reports as it goes (the command prints it, the test ignores it)."""

    steps: list[str] = field(default_factory=list)

    def __call__(self, message: str) -> None:
        self.steps.append(message)
        log.info("%s", message)


class LocalBroker:
    """Runs the whole broker on loopback; use as a context manager or call start()/stop()."""

    def __init__(self, settings: LocalSettings, report: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.report: Callable[[str], None] = report or Readiness()
        self.supervisor = Supervisor(settings.workdir / "logs")
        self.runtime: RuntimeConfig | None = None
        self.terraform: TerraformDecision = settings.terraform or decide()
        self.core: CoreApplied | None = None
        self._data_paths: list[Any] = []
        self._restored = False
        self._terraform_setup: TerraformSetup | None = None
        self.processes: dict[str, ManagedProcess] = {}
        self._stopped = False

    @property
    def terraform_setup(self) -> TerraformSetup:
        """The CLI configuration every Terraform of this broker runs with (core applies and the worker's)."""
        if self._terraform_setup is None:
            self._terraform_setup = prepare(self.settings.workdir / "terraform")
        return self._terraform_setup

    # -- urls -------------------------------------------------------------------------------------------

    @property
    def moto_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.moto_port}"

    @property
    def portal_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.portal_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.gateway_port}"

    # -- lifecycle --------------------------------------------------------------------------------------

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> RuntimeConfig:
        """Start moto, provision the core stacks, start portal and worker; returns the runtime config."""
        require_node()
        check_ports(
            {
                "moto": self.settings.moto_port,
                "portal": self.settings.portal_port,
                "producers' gateway": self.settings.gateway_port,
            },
            self.settings.host,
        )
        atexit.register(self.stop)
        try:
            self._start_moto()
            runtime = self._provision()
            self._start_data_paths(runtime)
            self._start_portal(runtime)
            self._start_worker(runtime)
        except BaseException:
            self.stop()
            raise
        return runtime

    def stop(self) -> None:
        """Stop every child (portal, worker, moto), newest first; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for path in self._data_paths:
            with contextlib.suppress(Exception):
                path.stop()
        self.supervisor.stop_all()
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def check_alive(self) -> list[str]:
        """Names of children that exited on their own (with the end of their log)."""
        return [
            f"{name} exited (code {managed.process.returncode}):\n{managed.log_tail()}"
            for name, managed in self.processes.items()
            if not managed.running()
        ]

    # -- steps ------------------------------------------------------------------------------------------

    def _base_env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "BROKER_"))}
        env.update(aws_environment(self.moto_url, self.settings.region))
        # portal and generator read their own endpoint variable as well as the SDK's
        env[ENDPOINT_URL_VARIABLE] = self.moto_url
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(PORTAL_DIR)])
        return env

    def _start_moto(self) -> None:
        started = time.monotonic()
        env = self._base_env()
        # ARNs moto makes carry the account of the environment config
        env["MOTO_ACCOUNT_ID"] = self.settings.account_id
        # the core stacks attach AWS managed policies (API Gateway's CloudWatch role), which moto loads on request
        env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        env[snapshot.DUMP_VARIABLE] = str(self._snapshot_file)
        if self._snapshot_is_current():
            env[snapshot.RESTORE_VARIABLE] = str(self._snapshot_file)
            self._restored = True
        command = embedded_aws_command(self.settings.python, self.settings.host, self.settings.moto_port)
        managed = self.supervisor.start("moto", command, env)
        self.processes["moto"] = managed
        wait_until(answers_http(f"{self.moto_url}/moto-api/"), self.settings.startup_timeout, "moto_server", managed)
        self.report(f"embedded AWS (moto_server) answering on {self.moto_url} ({time.monotonic() - started:.1f} s)")

    def _provision(self) -> RuntimeConfig:
        started = time.monotonic()
        # the core is always applied with Terraform; the decision only says whether the worker applies components
        binary = self.terraform.binary or find_terraform()
        if binary is None:
            raise LocalModeError(
                "local mode applies the core stacks with Terraform, and there is no terraform on the PATH. "
                "Install Terraform 1.11 (https://developer.hashicorp.com/terraform/install) and run `make demo` again"
            )
        config = self.settings.environment_config()
        outdir = self.settings.workdir / "cdktf.out"
        if not is_current(config, outdir, self.moto_url):
            self.report("synthesizing the core stacks with cdktf (a first run takes 5 to 30 s)...")
        fresh = synthesize(config, outdir, self._base_env(), self.moto_url, python=self.settings.python)
        shown = outdir.relative_to(REPO) if outdir.is_relative_to(REPO) else outdir
        verb = "synthesized" if fresh else "unchanged, reused"
        self.report(f"core stacks {verb} in {shown} ({time.monotonic() - started:.1f} s)")
        if self._restored:
            applied = CoreApplied(outputs=json.loads((self._snapshot_dir / "outputs.json").read_text()))
            self.report("core stacks restored from the snapshot of their last terraform apply (same stacks, same moto)")
        else:
            self.report(f"applying the core stacks with terraform ({self.terraform_setup.description})...")
            runner = TerraformRunner(binary, setup=self.terraform_setup, environ=self._base_env())
            applied = apply_core(outdir, runner, self.report)
            self._take_snapshot(applied)
        self.core = applied
        # producers reach the API through local mode's gateway: moto serves the API's configuration, not its data path
        outputs = {
            **applied.outputs,
            "producer_api_url": f"{self.gateway_url}/{applied.outputs['producer_api_stage_name']}",
        }
        try:
            runtime = RuntimeConfig.from_outputs(outputs)
        except ValueError as error:
            raise LocalModeError(f"the core stacks' outputs do not make a RuntimeConfig: {error}") from error
        self.runtime = runtime
        (self.settings.workdir / "runtime.json").write_text(json.dumps(runtime.model_dump(), indent=2))
        return runtime

    def _start_data_paths(self, runtime: RuntimeConfig) -> None:
        """The producers' gateway and the pipe pump: what moto stores but does not execute (``local_mode.gateway``)."""
        from local_mode.gateway import LocalGateway  # noqa: PLC0415
        from local_mode.pipes import PipePump  # noqa: PLC0415

        gateway = LocalGateway(self.moto_url, runtime.region, self.settings.host, self.settings.gateway_port)
        gateway.start()
        self._data_paths.append(gateway)
        pump = PipePump(self.moto_url, runtime.region)
        pump.start()
        self._data_paths.append(pump)
        self.report(f"producers' API served by local mode on {runtime.producer_api_url}; SQS producer pipes pumped")

    @property
    def _snapshot_dir(self) -> Path:
        return self.settings.workdir / "core-snapshot"

    @property
    def _snapshot_file(self) -> Path:
        return self._snapshot_dir / "state.pickle"

    def _snapshot_fingerprint(self) -> str:
        return f"{fingerprint(self.settings.environment_config(), self.moto_url)} moto {MOTO_VERSION}"

    def _snapshot_is_current(self) -> bool:
        marker = self._snapshot_dir / "fingerprint"
        return (
            not self.settings.fresh_core
            and self._snapshot_file.is_file()
            and (self._snapshot_dir / "outputs.json").is_file()
            and marker.is_file()
            and marker.read_text() == self._snapshot_fingerprint()
        )

    def _take_snapshot(self, applied: CoreApplied) -> None:
        """Ask the embedded AWS to write its state (``local_mode.snapshot``); a failure only costs the next start."""
        directory = self._snapshot_dir
        directory.mkdir(parents=True, exist_ok=True)
        for stale in ("fingerprint", "state.pickle", "state.pickle.failed"):
            (directory / stale).unlink(missing_ok=True)
        os.kill(self.processes["moto"].process.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._snapshot_file.is_file():
                (directory / "outputs.json").write_text(json.dumps(applied.outputs, indent=2, sort_keys=True))
                (directory / "fingerprint").write_text(self._snapshot_fingerprint())
                self.report(f"snapshot of the applied core kept in {directory}: the next start restores it")
                return
            if (directory / "state.pickle.failed").exists():
                break
            time.sleep(0.2)
        log.warning("no snapshot of the core: the next start applies the core stacks with terraform again")

    def portal_stage(self, runtime: RuntimeConfig) -> PortalStage:
        """The portal as local mode runs it: token mode with the demo teams, schemas kept in S3 only, moto."""
        return PortalStage(
            runtime=runtime,
            auth_mode=AuthMode.TOKEN,
            tokens_file=self.settings.teams_file,
            teams_file=self.settings.team_targets_file,
            registry_mode=RegistryMode.LOCAL,
            aws_endpoint_url=self.moto_url,
        )

    def portal_env(self, runtime: RuntimeConfig) -> dict[str, str]:
        env = self._base_env()
        env.update(self.portal_stage(runtime).to_env())
        return env

    def write_portal_env_file(self, runtime: RuntimeConfig) -> Path:
        """``.local/portal.env``: what ``chalice local --stage local`` needs to serve this broker's portal by hand.

        ``set -a; . .local/portal.env; set +a`` exports it (README, 'Run the portal yourself').
        """
        variables = {**aws_environment(self.moto_url, runtime.region), **self.portal_stage(runtime).to_env()}
        path = self.settings.workdir / "portal.env"
        path.write_text("".join(f"{name}={shlex.quote(value)}\n" for name, value in variables.items()))
        return path

    def portal_command(self) -> tuple[list[str], str]:
        """``chalice local`` when the project has its config file, else Chalice's server run directly."""
        where = ["--host", self.settings.host, "--port", str(self.settings.portal_port), "--stage", "local"]
        if (PORTAL_DIR / ".chalice" / "config.json").exists():
            # the reloader forks a second server process and restarts it on edits: not what a demo wants
            return [self.settings.bin("chalice"), "local", *where, "--no-autoreload"], "chalice local"
        return [self.settings.python, "-m", "local_mode.portal_server", *where], "Chalice local server"

    def _start_portal(self, runtime: RuntimeConfig) -> None:
        started = time.monotonic()
        self.write_portal_env_file(runtime)
        command, kind = self.portal_command()
        managed = self.supervisor.start("portal", command, self.portal_env(runtime), cwd=PORTAL_DIR)
        self.processes["portal"] = managed
        wait_until(
            answers_http(f"{self.portal_url}/openapi.json"), self.settings.startup_timeout, "the portal", managed
        )
        self.report(f"portal ({kind}) answering on {self.portal_url} ({time.monotonic() - started:.1f} s)")

    def worker_env(self, runtime: RuntimeConfig) -> dict[str, str]:
        env = self.portal_env(runtime)
        work_root = self.settings.workdir / "generator"
        work_root.mkdir(parents=True, exist_ok=True)
        env[WORK_ROOT_VARIABLE] = str(work_root)
        return env

    def worker_command(self, runtime: RuntimeConfig) -> list[str]:
        command = [
            self.settings.python,
            "-m",
            "generator",
            "worker",
            "--queue-url",
            runtime.generator_queue_url,
            "--endpoint-url",
            self.moto_url,
            "--terraform",
            # 'off' stops every deployment at synthesized: a terraform that cannot get the AWS provider would fail
            self.terraform.binary if self.terraform.usable and self.terraform.binary else "off",
            # an apply mostly waits on the AWS provider's polling: 8 at a time keep a burst moving on 2 cores
            "--workers",
            str(LOCAL_WORKERS),
        ]
        return command

    def _start_worker(self, runtime: RuntimeConfig) -> None:
        command = self.worker_command(runtime)
        env = self.worker_env(runtime)
        managed = self.supervisor.start("generator", command, env, cwd=REPO)
        self.processes["generator"] = managed
        time.sleep(0.5)
        if not managed.running():
            raise StartupError(f"the generator worker exited at start:\n{managed.log_tail()}")
        mode = "runs terraform" if self.terraform.usable else "stops at 'synthesized'"
        self.report(f"generator worker polling the deployment queue; {mode} ({self.terraform.reason})")
