#!/usr/bin/env bash
# Make Debian's chromium available to the catalog browser tests where this machine allows it (root + apt-get).
# Never fails the build: without chromium those tests skip themselves and say why.
set -u
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [ -n "${BROKER_CHROMIUM:-}" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium for the catalog browser tests (apt-get)..."
  if DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    exit 0
  fi
  echo "warning: apt-get could not install chromium; the catalog browser tests will be skipped" >&2
else
  echo "note: chromium is missing and installing it needs root and apt-get; the catalog browser tests will be skipped" >&2
fi
exit 0
