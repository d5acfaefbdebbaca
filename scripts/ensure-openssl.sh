#!/usr/bin/env bash
# Installs the openssl command line when it is missing: the https webhook test
# (packages/tests/src/webhooks-https.test.ts) makes its self-signed certificate with it at test time.
set -euo pipefail
if command -v openssl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-openssl: openssl is missing and installing it needs root (apt-get install openssl)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq openssl >/dev/null
openssl version
