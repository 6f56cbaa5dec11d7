"""The Terraform CLI configuration of the project's runs: where the provider comes from; the user's file untouched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from generator.runner import find_terraform
from generator.terraform_setup import (
    AWS_PROVIDER_VERSION,
    MIRROR_VARIABLE,
    cli_config_text,
    find_provider_mirror,
    platform_name,
    prepare,
)

PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"


def unpacked_mirror(root: Path, version: str = AWS_PROVIDER_VERSION) -> Path:
    binary_dir = root / PROVIDER / version / platform_name()
    binary_dir.mkdir(parents=True)
    (binary_dir / f"terraform-provider-aws_v{version}_x5").write_text("")
    return root


def packed_mirror(root: Path) -> Path:
    (root / PROVIDER).mkdir(parents=True)
    (root / PROVIDER / f"terraform-provider-aws_{AWS_PROVIDER_VERSION}_{platform_name()}.zip").write_bytes(b"PK")
    return root


def test_a_mirror_below_a_machine_root_is_found_in_either_layout(tmp_path: Path) -> None:
    unpacked = unpacked_mirror(tmp_path / "opt" / "tf-plugins")
    assert find_provider_mirror({}, tmp_path / "home", roots=[str(tmp_path / "opt")]) == unpacked
    packed = packed_mirror(tmp_path / "srv" / "mirrors" / "terraform")
    assert find_provider_mirror({}, tmp_path / "home", roots=[str(tmp_path / "srv")]) == packed


def test_a_mirror_of_another_provider_version_is_not_used(tmp_path: Path) -> None:
    unpacked_mirror(tmp_path / "opt" / "old", version="5.99.0")
    assert find_provider_mirror({}, tmp_path / "home", roots=[str(tmp_path / "opt")]) is None


def test_explicit_and_user_configured_mirrors_come_first(tmp_path: Path) -> None:
    machine = unpacked_mirror(tmp_path / "opt" / "tf-plugins")
    configured = unpacked_mirror(tmp_path / "configured")
    user_config = tmp_path / "user.tfrc"
    user_config.write_text(f'provider_installation {{\n  filesystem_mirror {{\n    path = "{configured}"\n  }}\n}}\n')
    env = {"TF_CLI_CONFIG_FILE": str(user_config)}
    roots = [str(tmp_path / "opt")]
    assert find_provider_mirror(env, tmp_path / "home", roots) == configured
    explicit = unpacked_mirror(tmp_path / "explicit")
    assert find_provider_mirror({**env, MIRROR_VARIABLE: str(explicit)}, tmp_path / "home", roots) == explicit
    assert machine != configured


def test_the_written_configuration_installs_the_aws_provider_from_the_mirror_only(tmp_path: Path) -> None:
    mirror = unpacked_mirror(tmp_path / "opt" / "tf-plugins")
    user_config = tmp_path / "home" / ".terraformrc"
    user_config.parent.mkdir()
    user_config.write_text('credentials "app.terraform.io" { token = "mine" }\n')

    setup = prepare(tmp_path / "ours", environ={}, home=tmp_path / "home", roots=[str(tmp_path / "opt")])

    assert setup.mirror == mirror
    assert setup.config_file.read_text() == cli_config_text(mirror, setup.plugin_cache)
    assert f'path    = "{mirror}"' in setup.config_file.read_text()
    assert 'exclude = ["registry.terraform.io/hashicorp/aws"]' in setup.config_file.read_text()
    assert setup.environment() == {
        "TF_CLI_CONFIG_FILE": str(setup.config_file),
        "TF_PLUGIN_CACHE_DIR": str(setup.plugin_cache),
    }
    # the user's own configuration is read for mirrors, never written
    assert user_config.read_text() == 'credentials "app.terraform.io" { token = "mine" }\n'


def test_without_a_mirror_terraform_uses_the_registry_with_a_shared_cache(tmp_path: Path) -> None:
    setup = prepare(tmp_path / "ours", environ={}, home=tmp_path / "home", roots=())
    assert setup.mirror is None
    text = setup.config_file.read_text()
    assert "provider_installation" not in text
    assert f'plugin_cache_dir = "{setup.plugin_cache}"' in text
    assert "disable_checkpoint = true" in text
    assert "registry" in setup.description


@pytest.mark.skipif(find_terraform() is None, reason="needs the terraform binary")
def test_terraform_itself_accepts_the_configuration(tmp_path: Path) -> None:
    setup = prepare(tmp_path / "ours", environ={}, home=tmp_path / "home")
    workdir = tmp_path / "stack"
    workdir.mkdir()
    (workdir / "main.tf.json").write_text(json.dumps({"output": {"ok": {"value": "yes"}}}))
    completed = subprocess.run(
        [str(find_terraform()), "init", "-input=false", "-no-color"],
        cwd=workdir,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), **setup.environment()},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # a malformed CLI configuration is reported as "There are some problems with the CLI configuration"
    assert completed.returncode == 0, completed.stderr
    assert "problems with the CLI configuration" not in completed.stderr
