"""Run the Terraform CLI over a synthesized stack directory (``cdk.tf.json`` inside).

The generator calls ``init`` (which reads the S3 backend written into ``cdk.tf.json``), ``apply``,
``destroy``, ``output -json`` and, to recover a lock left by a run that died, ``force-unlock``.
Everything runs non-interactively (``TF_IN_AUTOMATION=1``, ``-input=false``, ``-no-color``) with the
project's own CLI configuration (:mod:`generator.terraform_setup`: offline provider mirror or registry,
shared plugin cache) and a time limit. A run that reaches its limit is interrupted the way Terraform
expects (SIGINT: it stops starting operations, saves its state and releases its lock), and killed only
if it has not stopped within a grace period. A failure raises :class:`TerraformError` carrying the
command and the tail of its output, which is what ends up in the deployment's ``error``; a state lock
held by someone else raises :class:`StateLocked` with the lock's id and age.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generator.terraform_setup import TerraformSetup

logger = logging.getLogger(__name__)

#: how much of stderr a failure keeps: enough for Terraform's error block, small enough for a DynamoDB item
STDERR_TAIL_CHARS = 2000
DEFAULT_TIMEOUT_SECONDS = 600.0
#: how long an interrupted Terraform may take to save its state and release its lock before it is killed
INTERRUPT_GRACE_SECONDS = 20.0
#: how long a command waits for a lock held by another run of the same component before failing
LOCK_TIMEOUT = "120s"

_LOCK_ID = re.compile(r"ID:\s+([0-9a-fA-F-]{8,})")
_LOCK_CREATED = re.compile(r"Created:\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?) \+0000 UTC")


def find_terraform() -> str | None:
    """The ``terraform`` on the PATH, if any."""
    return shutil.which("terraform")


class TerraformError(RuntimeError):
    """A Terraform command failed, timed out, or the binary is missing."""

    def __init__(self, command: Sequence[str], detail: str) -> None:
        self.command = list(command)
        self.detail = detail
        super().__init__(f"`{' '.join(self.command)}` failed: {detail}")


class StateLocked(TerraformError):
    """The component's state is locked by another run; ``created`` is when that run took the lock."""

    def __init__(self, command: Sequence[str], detail: str, lock_id: str, created: datetime | None) -> None:
        super().__init__(command, detail)
        self.lock_id = lock_id
        self.created = created


def tail(text: str, limit: int = STDERR_TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text``, stripped, marked when something was cut."""
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


def lock_error(command: Sequence[str], output: str) -> StateLocked | None:
    """The :class:`StateLocked` described by Terraform's "Error acquiring the state lock" output, if it is one."""
    if "Error acquiring the state lock" not in output:
        return None
    found = _LOCK_ID.search(output)
    if found is None:
        return None
    created = _LOCK_CREATED.search(output)
    when = None
    if created is not None:
        when = datetime.fromisoformat(created.group(1)).replace(tzinfo=UTC)
    return StateLocked(command, tail(output), found.group(1), when)


class TerraformRunner:
    """Runs ``terraform`` in a working directory; ``available`` is False when no binary was found.

    ``binary`` defaults to ``terraform`` on the PATH. ``setup`` is the CLI configuration to run with
    (``TF_CLI_CONFIG_FILE`` and the shared plugin cache); without it Terraform uses whatever the
    environment says. ``enabled=False`` gives a runner that is never available (synthesis only).
    Every command takes an optional ``deadline`` (``time.monotonic()`` value): the command's time
    limit is the smaller of ``timeout_seconds`` and what is left before it.
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        setup: TerraformSetup | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        environ: Mapping[str, str] | None = None,
        enabled: bool = True,
    ) -> None:
        self.binary = (binary if binary is not None else find_terraform()) if enabled else None
        self.setup = setup
        self.timeout_seconds = timeout_seconds
        self._environ = dict(os.environ if environ is None else environ)

    @property
    def available(self) -> bool:
        return self.binary is not None

    def init(self, workdir: Path, deadline: float | None = None) -> None:
        """``terraform init``: configures the S3 backend declared in ``cdk.tf.json`` and installs providers."""
        self._run(workdir, ["init", "-input=false", "-no-color"], deadline)

    def apply(self, workdir: Path, deadline: float | None = None) -> None:
        """``terraform apply -auto-approve``."""
        self._run(
            workdir, ["apply", "-auto-approve", "-input=false", "-no-color", f"-lock-timeout={LOCK_TIMEOUT}"], deadline
        )

    def destroy(self, workdir: Path, deadline: float | None = None) -> None:
        """``terraform destroy -auto-approve``."""
        self._run(
            workdir,
            ["destroy", "-auto-approve", "-input=false", "-no-color", f"-lock-timeout={LOCK_TIMEOUT}"],
            deadline,
        )

    def validate(self, workdir: Path, deadline: float | None = None) -> None:
        """``terraform validate`` (after ``init -backend=false``)."""
        self._run(workdir, ["init", "-backend=false", "-input=false", "-no-color"], deadline)
        self._run(workdir, ["validate", "-no-color"], deadline)

    def force_unlock(self, workdir: Path, lock_id: str, deadline: float | None = None) -> None:
        """Release the lock ``lock_id`` that a run which died left on this directory's state."""
        self._run(workdir, ["force-unlock", "-force", "-no-color", lock_id], deadline)

    def output(self, workdir: Path, deadline: float | None = None) -> dict[str, Any]:
        """The stack's outputs as ``{name: value}``; sensitive outputs are left out."""
        stdout = self._run(workdir, ["output", "-json", "-no-color"], deadline)
        try:
            raw = json.loads(stdout or "{}")
        except json.JSONDecodeError as error:
            raise TerraformError([self._binary_name, "output", "-json"], f"not JSON: {tail(stdout, 200)}") from error
        if not isinstance(raw, dict):
            raise TerraformError([self._binary_name, "output", "-json"], "expected a JSON object")
        outputs: dict[str, Any] = {}
        for name, entry in raw.items():
            if isinstance(entry, dict) and "value" in entry:
                if not entry.get("sensitive", False):
                    outputs[name] = entry["value"]
            else:
                outputs[name] = entry
        return outputs

    @property
    def _binary_name(self) -> str:
        return Path(self.binary).name if self.binary else "terraform"

    def _env(self) -> dict[str, str]:
        env = dict(self._environ)
        env["TF_IN_AUTOMATION"] = "1"
        env["TF_INPUT"] = "0"
        env["CHECKPOINT_DISABLE"] = "1"
        if self.setup is not None:
            env.update(self.setup.environment())
        if env.get("TF_PLUGIN_CACHE_DIR"):
            Path(env["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
        return env

    def _time_limit(self, command: list[str], deadline: float | None) -> float:
        limit = self.timeout_seconds
        if deadline is not None:
            limit = min(limit, deadline - time.monotonic())
        if limit <= 1:
            raise TerraformError(command, "not started: no time left before the deadline")
        return limit

    def _run(self, workdir: Path, args: list[str], deadline: float | None = None) -> str:
        command = [self._binary_name, *args]
        if self.binary is None:
            raise TerraformError(command, "terraform binary not found on the PATH")
        if not (workdir / "cdk.tf.json").is_file():
            raise TerraformError(command, f"no cdk.tf.json in {workdir}")
        limit = self._time_limit(command, deadline)
        started = time.monotonic()
        try:
            child = subprocess.Popen(  # noqa: S603  (fixed argument list, no shell)
                [self.binary, *args],
                cwd=workdir,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as error:
            raise TerraformError(command, f"cannot run {self.binary}: {error}") from error
        try:
            stdout, stderr = child.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            stdout, stderr = _interrupt(child)
            raise TerraformError(command, f"timed out after {limit:g}s and was interrupted; {tail(stderr)}") from None
        logger.info(
            "terraform finished",
            extra={"command": " ".join(command), "returncode": child.returncode, "seconds": time.monotonic() - started},
        )
        if child.returncode != 0:
            locked = lock_error(command, stderr)
            if locked is not None:
                raise locked
            detail = tail(stderr) or tail(stdout) or "no output"
            raise TerraformError(command, f"exit code {child.returncode}: {detail}")
        return stdout


def _interrupt(child: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT (Terraform saves state and releases its lock), then SIGKILL after the grace period."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGINT)
    try:
        return child.communicate(timeout=INTERRUPT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        return child.communicate()
