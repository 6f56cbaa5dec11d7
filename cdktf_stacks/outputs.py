"""Feed the broker stack's outputs to the portal's Chalice config and print the generator's environment.

``python -m cdktf_stacks.outputs --outputs-file outputs.json --stage dev`` reads the JSON written by
``cdktf deploy broker --outputs-file outputs.json`` (or ``terraform output -json``), then writes the
stage the portal makes of them (``chalicelib.settings.PortalStage``: its ``environment_variables``,
``iam_role_arn`` and ``"manage_iam_role": false``) into the portal's Chalice config
(``chalicelib.settings.CHALICE_CONFIG``), keeping every other key of that file. It prints the
generator's environment as ``NAME=value`` lines. The portal owns the stage's shape; this module only
reads the outputs file and merges JSON.

``chalicelib`` is the portal's top-level package wherever the portal runs (the Lambda bundle's root,
Chalice's project directory); the project installs it under the same name (``pyproject.toml``), so the
deploy glue imports the portal's own module instead of restating its variable names.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chalicelib.settings import CHALICE_CONFIG, PortalStage, StageError

from broker_contract.config import RuntimeConfig
from cdktf_stacks.app import BROKER_STACK


class OutputsError(ValueError):
    """The outputs file cannot configure the portal; the message says which output is wrong."""


def stack_outputs(document: Mapping[str, Any]) -> dict[str, Any]:
    """The broker stack's outputs as ``{name: value}``.

    Accepts cdktf's ``--outputs-file`` (``{"broker": {name: value}}``), a single stack's outputs, and
    ``terraform output -json`` (``{name: {"value": v, ...}}``).
    """
    nested = document.get(BROKER_STACK)
    outputs = nested if isinstance(nested, Mapping) else document
    return {
        name: (value["value"] if isinstance(value, Mapping) and "value" in value else value)
        for name, value in outputs.items()
    }


def chalice_stage_settings(outputs: Mapping[str, Any]) -> dict[str, Any]:
    """The settings of one Chalice stage taken from the broker outputs (the portal says what they are)."""
    try:
        return PortalStage.from_outputs(outputs).chalice_stage()
    except StageError as error:
        raise OutputsError(str(error)) from error


def merge_stage(config: Mapping[str, Any], stage: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with ``settings`` merged into ``stages.<stage>``; every other key is kept."""
    merged: dict[str, Any] = json.loads(json.dumps(config))
    merged.setdefault("version", "2.0")
    stages = merged.setdefault("stages", {})
    current = stages.setdefault(stage, {})
    variables = {**current.get("environment_variables", {}), **settings["environment_variables"]}
    current.update(settings)
    current["environment_variables"] = variables
    return merged


def write_chalice_config(path: Path, stage: str, outputs: Mapping[str, Any]) -> dict[str, Any]:
    """Merge the stage settings into the Chalice config at ``path`` (created minimal if missing)."""
    settings = chalice_stage_settings(outputs)
    base: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {"version": "2.0", "app_name": "portal"}
    merged = merge_stage(base, stage, settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2, sort_keys=False) + "\n")
    return merged


def main(argv: Sequence[str] | None = None) -> int:
    """Write the Chalice stage config and print the generator environment; 2 on unusable outputs."""
    parser = argparse.ArgumentParser(prog="python -m cdktf_stacks.outputs", description=__doc__.splitlines()[0])
    parser.add_argument("--outputs-file", type=Path, required=True, help="cdktf/terraform outputs JSON")
    parser.add_argument("--stage", default="dev", help="Chalice stage to configure (default: dev)")
    parser.add_argument("--chalice-config", type=Path, default=CHALICE_CONFIG, help="Chalice config.json")
    args = parser.parse_args(argv)
    try:
        outputs = stack_outputs(json.loads(args.outputs_file.read_text()))
        write_chalice_config(args.chalice_config, args.stage, outputs)
    except (OSError, json.JSONDecodeError, OutputsError) as error:
        sys.stderr.write(f"cannot configure the portal: {error}\n")
        return 2
    sys.stderr.write(f"wrote stage {args.stage!r} of {args.chalice_config}\n")
    for name, value in RuntimeConfig.from_outputs(outputs).to_env().items():
        sys.stdout.write(f"{name}={value}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
