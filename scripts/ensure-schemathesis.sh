#!/bin/sh
# Makes sure schemathesis (PyPI) is installed in a private virtualenv, so `npm test` can fuzz the API from its
# OpenAPI document (packages/tests/src/contract-fuzz.test.ts). Prints the path of the `schemathesis` executable
# on its last line. The version is pinned: a new release may add checks or change the CLI, and the fuzz suite must
# not change under us. CI calls this before the tests and fails if it cannot install.
set -eu

VERSION=4.32.5
VENV="${CONCIERGE_SCHEMATHESIS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/concierge/schemathesis-venv-$VERSION}"
BIN="$VENV/bin/schemathesis"

# The marker is written last, so an install cut short is redone rather than trusted.
if [ -f "$VENV/.installed" ] && [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi

PYTHON=$(command -v python3 || true)
if [ -z "$PYTHON" ]; then
  echo "python3 is missing: install Python 3.9+ (with venv) to run the contract fuzz suite." >&2
  exit 1
fi

echo "Installing schemathesis $VERSION into $VENV..." >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$VERSION" >&2
"$BIN" --version >&2
touch "$VENV/.installed"
echo "$BIN"
