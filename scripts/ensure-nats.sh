#!/bin/sh
# Makes sure a `nats-server` binary is on this machine: the suites and benchmarks that run several instances with
# `--broker` start a throwaway one from it (packages/tests/src/harness/nats.ts, bench/lib/nats.mjs). CI calls this
# before the tests. Installs the Debian package `nats-server` when it is missing; the packaged service is not
# needed (each test starts its own server on a free port, with its own temp dir).
set -eu

if command -v nats-server >/dev/null 2>&1; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-nats: nats-server is missing and apt-get is not available: install nats-server yourself." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "ensure-nats: nats-server is missing and installing it needs root (apt-get install nats-server)" >&2
    exit 1
  fi
  SUDO="sudo"
fi
echo "Installing the Debian package nats-server..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nats-server
command -v nats-server >/dev/null 2>&1 || { echo "nats-server installed but not found on PATH" >&2; exit 1; }
nats-server --version
