"""Whether the local generator may run Terraform, or must stop each deployment at ``synthesized``.

Terraform is usable locally only when the binary is on the PATH AND the AWS provider can be installed
without the network (a plugin cache or a filesystem mirror holding ``registry.terraform.io/hashicorp/aws``).
``BROKER_LOCAL_TERRAFORM=1`` forces it on, ``BROKER_LOCAL_TERRAFORM=0`` forces it off. Without this
check, every deployment would fail after minutes of ``terraform init`` retries on a machine offline.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FORCE_VARIABLE = "BROKER_LOCAL_TERRAFORM"
PROVIDER_PATH = Path("registry.terraform.io") / "hashicorp" / "aws"


@dataclass(frozen=True)
class TerraformDecision:
    """The verdict and the sentence explaining it to the user."""

    usable: bool
    reason: str
    binary: str | None = None


def _cli_config_dirs(environ: Mapping[str, str], home: Path) -> list[Path]:
    """``plugin_cache_dir`` and ``filesystem_mirror`` paths named in the Terraform CLI configuration."""
    config = Path(environ["TF_CLI_CONFIG_FILE"]) if environ.get("TF_CLI_CONFIG_FILE") else home / ".terraformrc"
    try:
        text = config.read_text()
    except OSError:
        return []
    found = re.findall(r'plugin_cache_dir\s*=\s*"([^"]+)"', text)
    found += re.findall(r'filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]+)"', text, flags=re.DOTALL)
    return [Path(os.path.expandvars(path)).expanduser() for path in found]


def provider_directories(environ: Mapping[str, str], home: Path) -> list[Path]:
    """Every place Terraform looks for providers without the network."""
    dirs = _cli_config_dirs(environ, home)
    if environ.get("TF_PLUGIN_CACHE_DIR"):
        dirs.append(Path(environ["TF_PLUGIN_CACHE_DIR"]))
    # Terraform's implied local mirror directories
    dirs += [
        home / ".terraform.d" / "plugins",
        home / ".local" / "share" / "terraform" / "plugins",
        Path("/usr/local/share/terraform/plugins"),
        Path("/usr/share/terraform/plugins"),
    ]
    return dirs


def aws_provider_offline(environ: Mapping[str, str], home: Path) -> Path | None:
    """The directory holding an offline copy of the AWS provider, if any."""
    for directory in provider_directories(environ, home):
        candidate = directory / PROVIDER_PATH
        if candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    return None


def decide(environ: Mapping[str, str] | None = None, home: Path | None = None) -> TerraformDecision:
    """Apply the rule above to this machine."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    binary = shutil.which("terraform", path=env.get("PATH"))
    forced = env.get(FORCE_VARIABLE, "").strip().lower()
    if forced in ("0", "false", "no", "off"):
        return TerraformDecision(False, f"{FORCE_VARIABLE}={env[FORCE_VARIABLE]}: terraform disabled", binary)
    if binary is None:
        return TerraformDecision(False, "no terraform binary on the PATH")
    if forced in ("1", "true", "yes", "on"):
        return TerraformDecision(True, f"{FORCE_VARIABLE}={env[FORCE_VARIABLE]}: terraform forced on", binary)
    mirror = aws_provider_offline(env, home)
    if mirror is None:
        return TerraformDecision(
            False,
            f"terraform found at {binary}, but no offline copy of the AWS provider "
            f"(plugin cache or filesystem mirror); set {FORCE_VARIABLE}=1 to run it anyway",
            binary,
        )
    return TerraformDecision(True, f"terraform at {binary} with the AWS provider in {mirror}", binary)
