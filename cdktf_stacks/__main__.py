"""Synthesize the core stacks: ``python -m cdktf_stacks [--environment dev] [--outdir cdktf.out]``.

This is the ``app`` of ``cdktf.json``, so ``cdktf synth|deploy bootstrap|broker`` run it too. The
environment defaults to ``BROKER_ENVIRONMENT``, then ``dev``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from broker_contract.config import ENVIRONMENT_VARIABLE, EnvironmentConfig
from cdktf_stacks.app import BOOTSTRAP_STACK, BROKER_STACK, build_core_app

logger = logging.getLogger("cdktf_stacks")


def main(argv: Sequence[str] | None = None) -> int:
    """Synthesize both core stacks; 2 on bad configuration, with the reason on stderr."""
    parser = argparse.ArgumentParser(prog="python -m cdktf_stacks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--environment",
        default=os.environ.get(ENVIRONMENT_VARIABLE, "dev"),
        help="environment whose config/<environment>.json to use (default: $BROKER_ENVIRONMENT or dev)",
    )
    # cdktf CLI tells the app where to write through CDKTF_OUTDIR
    parser.add_argument("--outdir", default=os.environ.get("CDKTF_OUTDIR", "cdktf.out"), help="output directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = EnvironmentConfig.load(args.environment)
    except (ValidationError, ValueError) as error:
        print(f"invalid configuration for environment {args.environment!r}: {error}", file=sys.stderr)
        return 2
    build_core_app(config, outdir=args.outdir).synth()
    for stack in (BOOTSTRAP_STACK, BROKER_STACK):
        print(Path(args.outdir) / "stacks" / stack / "cdk.tf.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
