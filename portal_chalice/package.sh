#!/usr/bin/env bash
# Package the portal for deployment: portal_chalice/package.sh [stage (default dev)] [output dir (default build/portal-<stage>)]
# Checks the stage, vendors broker_contract into build/portal-<stage>.project/ (never into portal_chalice/), takes the
# region from config/<env>.json and runs `chalice package`: see package_portal.py. Chalice downloads the
# requirements' wheels from PyPI on a first run.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-$(dirname "$HERE")/.venv/bin/python}"
[ -x "$PY" ] || PY="python3"
exec "$PY" "$HERE/package_portal.py" "$@"
