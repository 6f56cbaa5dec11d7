"""Package the portal for deployment: check the stage, assemble a build project, run ``chalice package``.

``python portal_chalice/package_portal.py [stage (default dev)] [output dir (default build/portal-<stage>)]``
(what ``make package-portal STAGE=dev`` and ``portal_chalice/package.sh`` run).

* The stage must be one the portal can run with: every ``BROKER_*`` name of the broker stack filled (by
  ``python -m cdktf_stacks.outputs``), no ``${...}`` placeholder anywhere in it, and the portal role as
  ``iam_role_arn``. Otherwise nothing is packaged and every problem is listed (exit 2).
* The region is the one of ``config/<environment>.json`` (the stage's ``BROKER_ENVIRONMENT``), given to
  Chalice as ``AWS_DEFAULT_REGION``: no region needs to be configured in the shell.
* ``broker_contract`` is not on PyPI, so Chalice must find it in ``vendor/``. The project is assembled under
  ``build/portal-<stage>.project/`` (``app.py``, ``chalicelib/``, ``requirements.txt``, the Chalice config,
  ``vendor/``), never in ``portal_chalice/``: a vendored copy in the source tree would shadow the source for
  ``chalice local`` (``chalicelib.settings.vendored_copy_problem`` refuses one). The build project's
  ``.chalice/deployments/`` keeps Chalice's dependency cache from one run to the next.

This file sits beside ``app.py`` but is no part of the Lambda bundle (Chalice bundles ``app.py``,
``chalicelib/`` and ``vendor/`` only).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from chalicelib.settings import PLACEHOLDER, environment_problems
from pydantic import ValidationError

from broker_contract.config import ENV_PREFIX, ENVIRONMENT_VARIABLE, EnvironmentConfig, RuntimeConfig

PORTAL_DIR = Path(__file__).resolve().parent
REPO = PORTAL_DIR.parent
#: what Chalice reads from a project (besides ``.chalice/config.json``)
PROJECT_FILES = ("app.py", "chalicelib", "requirements.txt")
#: copied into the project's ``vendor/``: the contract, and the environments' config it reads (teams, quotas)
VENDORED = ("broker_contract", "config")
#: a broker variable left unresolved in the SAM template (CloudFormation's own ``${AWS::Region}`` are fine)
TEMPLATE_PLACEHOLDER = re.compile(r"\$\{" + ENV_PREFIX + r"[A-Z0-9_]*\}")
FILL_HINT = "fill the stage first: python -m cdktf_stacks.outputs --outputs-file outputs.json --stage {stage}"

Runner = Callable[..., "subprocess.CompletedProcess[Any]"]


class PackagingError(RuntimeError):
    """The stage cannot be packaged; the message lists every reason."""


def stage_environment(config: Mapping[str, Any], stage: str) -> dict[str, str]:
    """The environment Chalice gives the stage's Lambda: the top-level variables, then the stage's."""
    stage_config = config.get("stages", {}).get(stage, {})
    return {**config.get("environment_variables", {}), **stage_config.get("environment_variables", {})}


def _placeholders(value: Any, where: str) -> list[str]:
    if isinstance(value, str):
        return [f"{where}: {value!r} is an unresolved placeholder"] if PLACEHOLDER.search(value) else []
    if isinstance(value, Mapping):
        return [problem for key, item in value.items() for problem in _placeholders(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [problem for index, item in enumerate(value) for problem in _placeholders(item, f"{where}[{index}]")]
    return []


def stage_problems(config: Mapping[str, Any], stage: str) -> list[str]:
    """Why ``stage`` of the Chalice ``config`` cannot be packaged (empty when it can)."""
    stages = config.get("stages", {})
    if stage not in stages:
        return [f"the Chalice config has no stage {stage!r} (stages: {', '.join(sorted(stages)) or 'none'})"]
    stage_config = stages[stage]
    problems = _placeholders(
        {key: value for key, value in stage_config.items() if key != "environment_variables"}, stage
    )
    problems += environment_problems(stage_environment(config, stage))
    role = stage_config.get("iam_role_arn")
    if not (isinstance(role, str) and role.startswith("arn:")) or stage_config.get("manage_iam_role") is not False:
        problems.append(
            f"{stage}: needs iam_role_arn (the broker stack's portal_role_arn) and manage_iam_role false, "
            f"got iam_role_arn={role!r}, manage_iam_role={stage_config.get('manage_iam_role')!r}"
        )
    return problems


def package_region(environment: Mapping[str, str], environ: Mapping[str, str], config_dir: Path) -> str:
    """The region of ``config/<BROKER_ENVIRONMENT>.json``; refused when the stage's ``BROKER_REGION`` differs."""
    name = environment[ENVIRONMENT_VARIABLE]
    try:
        region = EnvironmentConfig.load(name, environ=environ, config_dir=config_dir).region
    except (ValidationError, OSError, ValueError) as error:
        raise PackagingError(f"cannot read the region of environment {name!r} from {config_dir}: {error}") from error
    stage_region = environment.get(RuntimeConfig.variables()["region"])
    if stage_region != region:
        raise PackagingError(
            f"config/{name}.json puts environment {name!r} in {region}, but the stage's broker outputs are in "
            f"{stage_region}: the portal would be deployed away from its table and buckets"
        )
    return region


def _ignore_caches(_directory: str, names: list[str]) -> list[str]:
    return [name for name in names if name in {"__pycache__", ".pytest_cache"} or name.endswith(".pyc")]


def assemble_project(project: Path, portal_dir: Path = PORTAL_DIR, repo: Path = REPO) -> None:
    """Copy what Chalice packages into ``project`` (emptied first, but for Chalice's dependency cache)."""
    project.mkdir(parents=True, exist_ok=True)
    for child in project.iterdir():
        if child.name == ".chalice":
            (child / "config.json").unlink(missing_ok=True)
        elif child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
    for name in PROJECT_FILES:
        source = portal_dir / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=_ignore_caches)
        else:
            shutil.copy2(source, project / name)
    (project / ".chalice").mkdir(exist_ok=True)
    shutil.copy2(portal_dir / ".chalice" / "config.json", project / ".chalice" / "config.json")
    for name in VENDORED:
        shutil.copytree(repo / name, project / "vendor" / name, ignore=_ignore_caches)


def _chalice_command() -> str:
    beside = Path(sys.executable).with_name("chalice")
    found = str(beside) if beside.exists() else shutil.which("chalice")
    if found is None:
        raise PackagingError("no chalice command beside this Python nor on the PATH: run `make install` first")
    return found


def package(
    stage: str,
    output: Path,
    *,
    portal_dir: Path = PORTAL_DIR,
    repo: Path = REPO,
    project: Path | None = None,
    chalice: str | None = None,
    environ: Mapping[str, str] | None = None,
    run: Runner = subprocess.run,
) -> Path:
    """Check ``stage``, assemble its project and run ``chalice package`` into ``output``; returns the SAM template."""
    env = dict(os.environ if environ is None else environ)
    output = output.resolve()  # chalice runs in the build project
    config = json.loads((portal_dir / ".chalice" / "config.json").read_text())
    problems = stage_problems(config, stage)
    if problems:
        listed = "".join(f"\n  - {problem}" for problem in problems)
        raise PackagingError(f"stage {stage!r} cannot be packaged:{listed}\n{FILL_HINT.format(stage=stage)}")
    region = package_region(stage_environment(config, stage), env, repo / "config")
    project = project or repo / "build" / f"portal-{stage}.project"
    assemble_project(project, portal_dir, repo)
    command = [chalice or _chalice_command(), "package", "--stage", stage, str(output)]
    # Chalice's boto3 session needs a region, which the environment's config gives; the shell's does not count
    result = run(command, cwd=project, env={**env, "AWS_DEFAULT_REGION": region, "AWS_REGION": region}, check=False)
    if result.returncode != 0:
        raise PackagingError(f"chalice package failed (exit {result.returncode}); its output is above")
    template = output / "sam.json"
    left = sorted(set(TEMPLATE_PLACEHOLDER.findall(template.read_text()))) if template.exists() else []
    if left:
        raise PackagingError(f"{template} still holds placeholders {left}: do not deploy it")
    return template


def main(argv: Sequence[str] | None = None) -> int:
    """Package a stage; 2 with every problem listed when it cannot be."""
    parser = argparse.ArgumentParser(prog="portal_chalice/package_portal.py", description=__doc__.splitlines()[0])
    parser.add_argument("stage", nargs="?", default="dev", help="Chalice stage (default: dev)")
    parser.add_argument("output", nargs="?", type=Path, help="output directory (default: build/portal-<stage>)")
    args = parser.parse_args(argv)
    output = (args.output or REPO / "build" / f"portal-{args.stage}").resolve()
    try:
        template = package(args.stage, output, chalice=os.environ.get("CHALICE") or None)
    except PackagingError as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    sys.stderr.write(f"packaged stage {args.stage} into {template.parent}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
