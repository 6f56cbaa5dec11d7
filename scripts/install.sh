#!/usr/bin/env bash
# Creates .venv and installs the locked dependencies, saying what it does (the first run takes a minute or two).
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=18,20
step() { printf '==> %s\n' "$*"; }
# pip configurations that list missing local indexes print one warning per package; keep the rest visible
pip_progress() {
  grep --line-buffered -v -e '^WARNING: Location' -e '^  Using cached' -e '^Requirement already satisfied' \
    | grep --line-buffered -E '^(Collecting|Installing|Successfully|ERROR|error)' | sed -u 's/^/    /' || true
}
step "creating the Python environment in $venv"
"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade "pip==24.3.1" 2>&1 | pip_progress
test "${PIPESTATUS[0]}" -eq 0
step "installing the locked dependencies (cdktf, the AWS provider bindings, chalice, moto ...): about a minute"
"$venv/bin/pip" install -c requirements.lock -e ".[dev]" 2>&1 | pip_progress
test "${PIPESTATUS[0]}" -eq 0
step "checking the installation"
"$venv/bin/python" -c "import cdktf, chalice, moto, pydantic, checkov"
step "ready"
