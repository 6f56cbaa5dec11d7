"""Whether the local generator runs Terraform, or must stop each deployment at ``synthesized``.

Terraform runs whenever its binary is on the PATH: with the AWS provider from an offline mirror when one
is found (:mod:`generator.terraform_setup`), else from the Terraform registry, as on any machine with
internet. ``BROKER_LOCAL_TERRAFORM=0`` turns it off (deployments stop at ``synthesized``, their Terraform
readable through the portal).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from generator.terraform_setup import SEARCHED_ROOTS, find_provider_mirror

FORCE_VARIABLE = "BROKER_LOCAL_TERRAFORM"


@dataclass(frozen=True)
class TerraformDecision:
    """The verdict and the sentence explaining it to the user."""

    usable: bool
    reason: str
    binary: str | None = None


def decide(
    environ: Mapping[str, str] | None = None, home: Path | None = None, roots: Iterable[str] = SEARCHED_ROOTS
) -> TerraformDecision:
    """Apply the rule above to this machine."""
    env = os.environ if environ is None else environ
    binary = shutil.which("terraform", path=env.get("PATH"))
    forced = env.get(FORCE_VARIABLE, "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return TerraformDecision(False, f"{FORCE_VARIABLE}={env[FORCE_VARIABLE]}: terraform disabled", binary)
    if binary is None:
        return TerraformDecision(False, "no terraform binary on the PATH: deployments stop at 'synthesized'")
    mirror = find_provider_mirror(env, home, roots)
    if mirror is None:
        return TerraformDecision(True, f"terraform at {binary}, AWS provider from the Terraform registry", binary)
    return TerraformDecision(True, f"terraform at {binary}, AWS provider from the offline mirror {mirror}", binary)
