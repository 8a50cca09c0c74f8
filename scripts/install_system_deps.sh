#!/usr/bin/env bash
# System packages the test suite uses: Debian's chromium for the headless-browser checks of the HTML
# reports. Idempotent; does nothing when chromium is already there or when apt-get cannot be used.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install_system_deps: chromium not installed and apt-get unavailable; browser checks will be skipped" >&2
  exit 0
fi
echo "install_system_deps: installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
