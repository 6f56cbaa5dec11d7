"""Run the Terraform CLI over a synthesized stack directory (``cdk.tf.json`` inside).

The generator only calls four commands: ``init`` (which reads the S3 backend written into
``cdk.tf.json``), ``apply``, ``destroy`` and ``output -json``. Everything runs non-interactively
(``TF_IN_AUTOMATION=1``, ``-input=false``, ``-no-color``) with a timeout, and a failure raises
:class:`TerraformError` carrying the command and the tail of its stderr, which is what ends up in
the deployment's ``error``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: how much of stderr a failure keeps: enough for Terraform's error block, small enough for a DynamoDB item
STDERR_TAIL_CHARS = 2000
DEFAULT_TIMEOUT_SECONDS = 600.0


def find_terraform() -> str | None:
    """The ``terraform`` on the PATH, if any."""
    return shutil.which("terraform")


class TerraformError(RuntimeError):
    """A Terraform command failed, timed out, or the binary is missing."""

    def __init__(self, command: Sequence[str], detail: str) -> None:
        self.command = list(command)
        self.detail = detail
        super().__init__(f"`{' '.join(self.command)}` failed: {detail}")


def tail(text: str, limit: int = STDERR_TAIL_CHARS) -> str:
    """The last ``limit`` characters of ``text``, stripped, marked when something was cut."""
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


class TerraformRunner:
    """Runs ``terraform`` in a working directory; ``available`` is False when no binary was found.

    ``binary`` defaults to ``terraform`` on the PATH. ``plugin_cache_dir`` (or an inherited
    ``TF_PLUGIN_CACHE_DIR``) lets consecutive runs in a warm Lambda share downloaded providers;
    the container image instead mirrors the provider through ``TF_CLI_CONFIG_FILE``.
    ``enabled=False`` gives a runner that is never available (synthesis only).
    """

    def __init__(
        self,
        binary: str | None = None,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        plugin_cache_dir: Path | None = None,
        environ: Mapping[str, str] | None = None,
        enabled: bool = True,
    ) -> None:
        self.binary = (binary if binary is not None else find_terraform()) if enabled else None
        self.timeout_seconds = timeout_seconds
        self.plugin_cache_dir = plugin_cache_dir
        self._environ = dict(os.environ if environ is None else environ)

    @property
    def available(self) -> bool:
        return self.binary is not None

    def init(self, workdir: Path) -> None:
        """``terraform init``: configures the S3 backend declared in ``cdk.tf.json`` and installs providers."""
        self._run(workdir, ["init", "-input=false", "-no-color"])

    def apply(self, workdir: Path) -> None:
        """``terraform apply -auto-approve``."""
        self._run(workdir, ["apply", "-auto-approve", "-input=false", "-no-color"])

    def destroy(self, workdir: Path) -> None:
        """``terraform destroy -auto-approve``."""
        self._run(workdir, ["destroy", "-auto-approve", "-input=false", "-no-color"])

    def output(self, workdir: Path) -> dict[str, Any]:
        """The stack's outputs as ``{name: value}``; sensitive outputs are left out."""
        stdout = self._run(workdir, ["output", "-json", "-no-color"])
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
        if self.plugin_cache_dir is not None:
            self.plugin_cache_dir.mkdir(parents=True, exist_ok=True)
            env["TF_PLUGIN_CACHE_DIR"] = str(self.plugin_cache_dir)
        if env.get("TF_PLUGIN_CACHE_DIR"):
            Path(env["TF_PLUGIN_CACHE_DIR"]).mkdir(parents=True, exist_ok=True)
        return env

    def _run(self, workdir: Path, args: list[str]) -> str:
        command = [self._binary_name, *args]
        if self.binary is None:
            raise TerraformError(command, "terraform binary not found on the PATH")
        if not (workdir / "cdk.tf.json").is_file():
            raise TerraformError(command, f"no cdk.tf.json in {workdir}")
        started = time.monotonic()
        try:
            completed = subprocess.run(  # noqa: S603  (fixed argument list, no shell)
                [self.binary, *args],
                cwd=workdir,
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=self.timeout_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            stderr = error.stderr.decode() if isinstance(error.stderr, bytes) else (error.stderr or "")
            raise TerraformError(command, f"timed out after {self.timeout_seconds:g}s; {tail(stderr)}") from error
        except OSError as error:
            raise TerraformError(command, f"cannot run {self.binary}: {error}") from error
        logger.info(
            "terraform finished",
            extra={
                "command": " ".join(command),
                "returncode": completed.returncode,
                "seconds": time.monotonic() - started,
            },
        )
        if completed.returncode != 0:
            detail = tail(completed.stderr) or tail(completed.stdout) or "no output"
            raise TerraformError(command, f"exit code {completed.returncode}: {detail}")
        return completed.stdout
