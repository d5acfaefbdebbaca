#!/bin/sh
# Makes sure PostgreSQL server binaries are on this machine, so `npm test` runs every suite on PostgreSQL as well
# as SQLite (scripts/pg-cluster.mjs starts a throwaway cluster from them). CI calls this before the tests.
# Installs the Debian package `postgresql` when they are missing; the packaged cluster service is not needed
# (the tests make their own cluster in a temp dir).
set -eu

have_binaries() {
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] && return 0
  done
  pg_ctl=$(command -v pg_ctl 2>/dev/null) || return 1
  dir=$(dirname "$(readlink -f "$pg_ctl")")
  [ -x "$dir/initdb" ] && [ -x "$dir/postgres" ]
}

if have_binaries; then
  echo "PostgreSQL server binaries present."
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "PostgreSQL server binaries are missing and apt-get is not available: install PostgreSQL (initdb, pg_ctl) yourself." >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing the Debian package postgresql..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
have_binaries || { echo "postgresql installed but initdb/pg_ctl were not found" >&2; exit 1; }
echo "PostgreSQL server binaries installed."
