#!/usr/bin/env bash
# Installs Debian's Chromium for the SDK's browser test (packages/sdk-tests/src/browser.test.ts) when it is
# missing. CI runs this before the tests; locally the browser test skips with a message instead.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: /usr/bin/chromium is missing and installing it needs root (apt-get install chromium)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version
