#!/usr/bin/env bash
# Fails early, with a sentence instead of a trace, when the machine lacks what the broker needs.
set -euo pipefail
python=${1:-python3}
if ! command -v "$python" >/dev/null 2>&1; then
  echo "error: $python not found. The event broker needs Python 3.11 or newer." >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "error: $("$python" --version 2>&1) is too old. The event broker needs Python 3.11 or newer (set PYTHON=...)." >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1; then
  echo "error: Node.js not found. cdktf runs through jsii, which needs Node.js 18 or newer on the PATH." >&2
  echo "       Install it (for example: apt-get install nodejs, or from nodejs.org) and run the command again." >&2
  exit 1
fi
major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
if [ "$major" -lt 18 ]; then
  echo "error: Node.js $(node --version) is too old. cdktf (jsii) needs Node.js 18 or newer." >&2
  exit 1
fi
