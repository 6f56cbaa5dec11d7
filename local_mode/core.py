"""Apply the local variant of the core stacks to the embedded AWS with real Terraform, and read their outputs.

The same ``terraform init/apply`` an operator runs against an account (see the README's *Deploying*), with
the project's CLI configuration (offline provider mirror when there is one). moto starts empty on every
run, so the bootstrap stack's local state of a previous run is dropped first: it would describe resources
that no longer exist. The broker stack keeps its state in the embedded S3, which starts empty too.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.runner import TerraformError, TerraformRunner
from local_mode.synth import STACKS, stack_file, state_directory

log = logging.getLogger(__name__)


class CoreApplyError(RuntimeError):
    """A core stack could not be applied to the embedded AWS; the message carries Terraform's error."""


@dataclass
class CoreApplied:
    """What the core apply gave: every stack's outputs merged, and the seconds each stack took."""

    outputs: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)


def apply_core(outdir: Path, runner: TerraformRunner, report: Callable[[str], None]) -> CoreApplied:
    """``terraform init`` and ``apply`` of bootstrap then broker under ``outdir``; their merged outputs."""
    shutil.rmtree(state_directory(outdir), ignore_errors=True)
    state_directory(outdir).mkdir(parents=True, exist_ok=True)
    applied = CoreApplied()
    for name in STACKS:
        directory = stack_file(outdir, name).parent
        started = time.monotonic()
        try:
            # a previous run's backend settings point at a moto that is gone: initialise from scratch
            shutil.rmtree(directory / ".terraform", ignore_errors=True)
            runner.init(directory)
            started_apply = time.monotonic()
            runner.apply(directory)
            log.info("%s applied in %.1f s", name, time.monotonic() - started_apply)
            outputs = runner.output(directory)
        except TerraformError as error:
            raise CoreApplyError(f"terraform could not apply the {name} stack to the embedded AWS:\n{error}") from error
        applied.seconds[name] = time.monotonic() - started
        applied.resources[name] = _resource_count(directory)
        applied.outputs.update(outputs)
        report(
            f"stack {name}: {applied.resources[name]} resources applied by terraform ({applied.seconds[name]:.0f} s)"
        )
    return applied


def _resource_count(directory: Path) -> int:
    document = json.loads((directory / "cdk.tf.json").read_text())
    return sum(len(by_name) for by_name in document.get("resource", {}).values())
