"""Export the contract: JSON Schemas of the deployment files and one example file of each kind.

``python -m broker_contract --write`` regenerates them; ``--check`` fails when they are stale, so
the files published next to the code always describe the models in the code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from broker_contract.examples import examples
from broker_contract.models import ConsumerDeployment, Deployment, ProducerDeployment

PACKAGE_DIR = Path(__file__).resolve().parent


def exported_files() -> dict[Path, str]:
    """Every exported file and its expected content."""
    schemas: dict[str, Any] = {
        "producer-deployment": ProducerDeployment.model_json_schema(),
        "consumer-deployment": ConsumerDeployment.model_json_schema(),
        "deployment": TypeAdapter(Deployment).json_schema(),
    }
    files = {
        PACKAGE_DIR / "schemas" / f"{name}.schema.json": json.dumps(schema, indent=2, sort_keys=True) + "\n"
        for name, schema in schemas.items()
    }
    for name, example in examples().items():
        files[PACKAGE_DIR / "examples" / f"{name}.json"] = example.model_dump_json(indent=2) + "\n"
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m broker_contract", description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="write the JSON Schemas and examples")
    mode.add_argument("--check", action="store_true", help="fail when the exported files are stale")
    args = parser.parse_args(argv)
    stale = []
    for path, content in exported_files().items():
        if args.write:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
        elif not path.exists() or path.read_text() != content:
            stale.append(path)
    if stale:
        names = ", ".join(str(path.relative_to(PACKAGE_DIR.parent)) for path in stale)
        print(f"stale contract exports: {names}; run `make contract`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
