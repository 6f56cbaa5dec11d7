"""Feed the broker stack's outputs to the portal's Chalice config and print the generator's environment.

``python -m cdktf_stacks.outputs --outputs-file outputs.json --stage dev`` reads the JSON written by
``cdktf deploy broker --outputs-file outputs.json`` (or ``terraform output -json``), then writes the
stage's ``environment_variables`` (every ``BROKER_*`` variable of ``RuntimeConfig``), its
``iam_role_arn`` (the portal role) and ``"manage_iam_role": false`` into
``portal_chalice/.chalice/config.json``, keeping every other key of that file. It prints the
generator's environment as ``NAME=value`` lines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from broker_contract.config import RuntimeConfig
from cdktf_stacks.app import BROKER_STACK

DEFAULT_CHALICE_CONFIG = Path(__file__).resolve().parent.parent / "portal_chalice" / ".chalice" / "config.json"
PORTAL_ROLE_OUTPUT = "portal_role_arn"
USER_POOL_OUTPUT = "portal_user_pool_arn"


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
    """The settings of one Chalice stage taken from the broker outputs."""
    try:
        runtime = RuntimeConfig.from_outputs(outputs)
    except ValidationError as error:
        missing = sorted(".".join(str(part) for part in problem["loc"]) for problem in error.errors())
        raise OutputsError(f"broker outputs lack or mistype: {', '.join(missing)}") from error
    role_arn = outputs.get(PORTAL_ROLE_OUTPUT)
    if not isinstance(role_arn, str) or not role_arn.startswith("arn:"):
        raise OutputsError(f"broker output {PORTAL_ROLE_OUTPUT!r} must be the portal role's ARN, got {role_arn!r}")
    variables = runtime.to_env()
    user_pool_arn = outputs.get(USER_POOL_OUTPUT)
    if isinstance(user_pool_arn, str) and user_pool_arn.startswith("arn:"):
        # the broker stack's user pool authenticates the portal's users; their team is a claim of the pool
        variables |= {"BROKER_PORTAL_AUTH": "cognito", "BROKER_PORTAL_USER_POOL_ARN": user_pool_arn}
    return {"environment_variables": variables, "iam_role_arn": role_arn, "manage_iam_role": False}


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
    parser.add_argument("--chalice-config", type=Path, default=DEFAULT_CHALICE_CONFIG, help="Chalice config.json")
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
