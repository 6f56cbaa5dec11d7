"""Repair commands, run from ``portal_chalice/`` with the portal's ``BROKER_*`` environment.

``python -m chalicelib.manage reconcile``: finish every change whose later steps (backup,
registry, deployment file) failed, and restore missing schema backups from the catalog.
``python -m chalicelib.manage rebuild-registry``: register every backed-up schema version again.
``python -m chalicelib.manage recount-quotas``: set the quota counters from the catalog (after an upgrade).
Both print a JSON report and exit 1 when something is still failing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence

from chalicelib import container


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chalicelib.manage", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("reconcile", "rebuild-registry", "recount-quotas"))
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if arguments.command == "recount-quotas":
        services = container.services()
        sys.stdout.write(json.dumps(services.subscriptions.quotas.recount(services.backend.catalog), indent=2) + "\n")
        return 0
    maintenance = container.services().maintenance
    if arguments.command == "reconcile":
        report = maintenance.reconcile()
        sys.stdout.write(json.dumps(dataclasses.asdict(report), indent=2) + "\n")
        return 0 if report.ok else 1
    rebuilt = maintenance.rebuild_registry()
    sys.stdout.write(json.dumps(dataclasses.asdict(rebuilt), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
