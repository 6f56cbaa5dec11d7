#!/usr/bin/env bash
# Package the portal for deployment: vendor the shared contract, then `chalice package`.
# Usage: portal_chalice/package.sh [stage (default dev)] [output dir (default build/portal-<stage>)]
# Needs the repository's virtualenv (or any Python with chalice installed) and, for chalice's
# dependency download, access to PyPI.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
STAGE="${1:-dev}"
OUT="${2:-$ROOT/build/portal-$STAGE}"
CHALICE="${CHALICE:-$ROOT/.venv/bin/chalice}"
[ -x "$CHALICE" ] || CHALICE="chalice"

# broker_contract is not on PyPI: Chalice puts vendor/ at the root of the bundle.
rm -rf "$HERE/vendor/broker_contract"
mkdir -p "$HERE/vendor"
cp -R "$ROOT/broker_contract" "$HERE/vendor/broker_contract"
find "$HERE/vendor/broker_contract" -name "__pycache__" -type d -prune -exec rm -rf {} +
# config/<env>.json holds the teams' declared targets and the quotas: beside broker_contract, where it looks
rm -rf "$HERE/vendor/config"
cp -R "$ROOT/config" "$HERE/vendor/config"

cd "$HERE"
"$CHALICE" package --stage "$STAGE" "$OUT"
echo "packaged stage $STAGE into $OUT"
