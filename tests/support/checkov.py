"""Run checkov over synthesized stacks; a failed check passes only where an inline skip explains it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SKIP = re.compile(r"checkov:skip=(?P<id>[A-Za-z_\d]+):(?P<reason>.+)")
CHECKOV = Path(sys.executable).with_name("checkov")


@dataclass(frozen=True)
class Finding:
    check_id: str
    resource: str
    file: str
    name: str

    def __str__(self) -> str:
        return f"{self.check_id} on {self.resource} in {self.file}: {self.name}"


def inline_skips(stack_json: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``{"<type>.<name>": {check_id: reason}}`` from the ``"//"`` keys of a synthesized stack."""
    skips: dict[str, dict[str, str]] = {}
    for resource_type, resources in stack_json.get("resource", {}).items():
        for name, body in resources.items():
            for text in (body.get("//") or {}).values():
                match = SKIP.match(str(text))
                if match:
                    skips.setdefault(f"{resource_type}.{name}", {})[match["id"]] = match["reason"].strip()
    return skips


def scan(directory: Path) -> list[Finding]:
    """Failed checks over every ``cdk.tf.json`` below ``directory`` that no inline skip explains."""
    completed = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(directory),
            "--framework",
            "terraform_json",
            "-o",
            "json",
            "--compact",
            "--skip-download",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=directory,
    )
    if completed.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed to run: {completed.stderr[-2000:]}")
    reports = json.loads(completed.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    if not any(report.get("check_type") == "terraform_json" for report in reports):
        raise RuntimeError(f"checkov scanned nothing in {directory}: {completed.stdout[:500]}")
    unexplained = []
    skip_cache: dict[Path, dict[str, dict[str, str]]] = {}
    for report in reports:
        if report.get("summary", {}).get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse: {report['results'].get('parsing_errors')}")
        for failed in report["results"]["failed_checks"]:
            path = Path(failed["file_abs_path"])
            if path not in skip_cache:
                skip_cache[path] = inline_skips(json.loads(path.read_text()))
            # checkov names a resource "resource.<name>" (attribute checks) or "<type>.<name>" (graph checks)
            resource = failed["resource"].removeprefix("resource.")
            skips = next(
                (found for key, found in skip_cache[path].items() if resource in (key, key.split(".", 1)[1])), {}
            )
            if failed["check_id"] not in skips:
                unexplained.append(
                    Finding(failed["check_id"], resource, str(path.relative_to(directory)), failed["check_name"])
                )
    return unexplained
