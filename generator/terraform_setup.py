"""The Terraform CLI configuration the broker runs Terraform with, and where the AWS provider comes from.

Every ``terraform`` the project starts (the generator's component applies, local mode's core applies, the
validation tests) runs with ``TF_CLI_CONFIG_FILE`` pointing at a file this module writes in a directory of
ours; the user's own ``~/.terraformrc`` (or ``TF_CLI_CONFIG_FILE``) is read to find mirrors they already
have, never written. The file says:

- where an offline copy of ``hashicorp/aws`` at :data:`AWS_PROVIDER_VERSION` is found (a Terraform
  filesystem mirror, packed or unpacked layout): install that provider from it only, so ``terraform init``
  takes about a second and never touches the network;
- otherwise: the registry, as Terraform does by default on a machine with internet;
- in both cases a shared ``plugin_cache_dir``, so N component directories share one unpacked provider
  (~700 MB) instead of N copies. Generated stacks carry no lock file, hence
  ``plugin_cache_may_break_dependency_lock_file``.

Terraform has no library to write its CLI configuration (it is a small HCL file); the few lines are here.
"""

from __future__ import annotations

import glob
import os
import platform
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

#: the one provider version of the project: cdktf-cdktf-provider-aws 20.1.0 was generated for it, the stacks
#: pin it (``required_providers``), the generator image mirrors it; a test keeps the three equal
AWS_PROVIDER_VERSION = "5.100.0"
AWS_PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
#: an explicit mirror directory (holding ``registry.terraform.io/...``); the generator image sets it
MIRROR_VARIABLE = "BROKER_TERRAFORM_PROVIDER_MIRROR"
#: machine-wide places other than Terraform's implied ones where images and CI hosts keep mirrors
SEARCHED_ROOTS = ("/opt", "/usr/local/share", "/usr/share", "/var/lib")


def platform_name() -> str:
    """Terraform's name for this machine's platform (``linux_amd64``, ``darwin_arm64`` ...)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def holds_provider(mirror: Path, version: str = AWS_PROVIDER_VERSION, target: str | None = None) -> bool:
    """True when ``mirror`` is a filesystem mirror holding the AWS provider ``version`` for ``target``."""
    target = target or platform_name()
    base = mirror / AWS_PROVIDER_SOURCE
    unpacked = base / version / target
    packed = base / f"terraform-provider-aws_{version}_{target}.zip"
    return packed.is_file() or (unpacked.is_dir() and any(unpacked.glob("terraform-provider-aws*")))


def _user_cli_config(environ: Mapping[str, str], home: Path) -> Path:
    configured = environ.get("TF_CLI_CONFIG_FILE")
    return Path(configured) if configured else home / ".terraformrc"


def _configured_directories(environ: Mapping[str, str], home: Path) -> list[Path]:
    """Mirror and cache directories named in the user's CLI configuration (read only)."""
    try:
        text = _user_cli_config(environ, home).read_text()
    except OSError:
        return []
    found = re.findall(r'filesystem_mirror\s*\{[^}]*?path\s*=\s*"([^"]+)"', text, flags=re.DOTALL)
    found += re.findall(r'plugin_cache_dir\s*=\s*"([^"]+)"', text)
    return [Path(os.path.expandvars(path)).expanduser() for path in found]


def candidate_mirrors(environ: Mapping[str, str], home: Path, roots: Iterable[str] = SEARCHED_ROOTS) -> list[Path]:
    """Every directory that may hold the provider, most explicit first."""
    candidates: list[Path] = []
    if environ.get(MIRROR_VARIABLE):
        candidates.append(Path(environ[MIRROR_VARIABLE]).expanduser())
    candidates += _configured_directories(environ, home)
    if environ.get("TF_PLUGIN_CACHE_DIR"):
        candidates.append(Path(environ["TF_PLUGIN_CACHE_DIR"]))
    # Terraform's implied local mirror directories
    data_dirs = [Path(d) for d in environ.get("XDG_DATA_DIRS", "").split(os.pathsep) if d]
    candidates += [home / ".terraform.d" / "plugins", home / ".local" / "share" / "terraform" / "plugins"]
    candidates += [d / "terraform" / "plugins" for d in data_dirs]
    # machine-wide mirrors up to three levels below well-known roots (/opt/<x>/registry.terraform.io ...)
    for root in roots:
        for depth in range(3):
            pattern = os.path.join(root, *(["*"] * depth), "registry.terraform.io")
            candidates += sorted(Path(found).parent for found in glob.glob(pattern))
    unique: list[Path] = []
    for candidate in candidates:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def find_provider_mirror(
    environ: Mapping[str, str] | None = None, home: Path | None = None, roots: Iterable[str] = SEARCHED_ROOTS
) -> Path | None:
    """The first directory holding the pinned AWS provider for this platform, if any."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    return next((path for path in candidate_mirrors(env, home, roots) if holds_provider(path)), None)


@dataclass(frozen=True)
class TerraformSetup:
    """The CLI configuration file the project's Terraform runs use, and what it says."""

    config_file: Path
    plugin_cache: Path
    #: the offline copy in use; None means the registry
    mirror: Path | None

    @property
    def description(self) -> str:
        if self.mirror is not None:
            return f"AWS provider {AWS_PROVIDER_VERSION} from the offline mirror {self.mirror}"
        return f"AWS provider {AWS_PROVIDER_VERSION} from the Terraform registry (cached in {self.plugin_cache})"

    def environment(self) -> dict[str, str]:
        """Variables to add to a Terraform child's environment."""
        return {"TF_CLI_CONFIG_FILE": str(self.config_file), "TF_PLUGIN_CACHE_DIR": str(self.plugin_cache)}


def cli_config_text(mirror: Path | None, plugin_cache: Path) -> str:
    """The HCL of the CLI configuration (see the module docstring)."""
    lines = [
        # the version check calls checkpoint-api.hashicorp.com on every command: offline it only costs time
        "disable_checkpoint = true",
        f"plugin_cache_dir = {_hcl_string(plugin_cache)}",
        "plugin_cache_may_break_dependency_lock_file = true",
    ]
    if mirror is not None:
        source = _hcl_string(AWS_PROVIDER_SOURCE)
        lines += [
            "provider_installation {",
            "  filesystem_mirror {",
            f"    path    = {_hcl_string(mirror)}",
            f"    include = [{source}]",
            "  }",
            "  direct {",
            f"    exclude = [{source}]",
            "  }",
            "}",
        ]
    return "\n".join(lines) + "\n"


def _hcl_string(value: object) -> str:
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def default_setup_directory(environ: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """Where the configuration and the plugin cache live by default: ``$XDG_CACHE_HOME/event-broker/terraform``."""
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    cache_home = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else home / ".cache"
    return cache_home / "event-broker" / "terraform"


def prepare(
    directory: Path | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    roots: Iterable[str] = SEARCHED_ROOTS,
) -> TerraformSetup:
    """Write the CLI configuration into ``directory`` (created) and return how to use it; idempotent."""
    env = os.environ if environ is None else environ
    directory = directory or default_setup_directory(env, home)
    plugin_cache = directory / "plugin-cache"
    plugin_cache.mkdir(parents=True, exist_ok=True)
    mirror = find_provider_mirror(env, home, roots)
    config_file = directory / "terraform.rc"
    text = cli_config_text(mirror, plugin_cache)
    if not config_file.exists() or config_file.read_text() != text:
        # written aside then renamed: parallel workers may prepare at the same moment
        partial = directory / f".terraform.rc.{os.getpid()}"
        partial.write_text(text)
        partial.replace(config_file)
    return TerraformSetup(config_file=config_file, plugin_cache=plugin_cache, mirror=mirror)
