#!/usr/bin/env bash
# Install voltfleet into .venv and run the demo: embedded SQLite, no other server needed.
# The demo logins are printed at start; open http://127.0.0.1:8000/ (mail: /outbox).
# Extra arguments go to `voltfleet demo`, for example: bash scripts/demo.sh --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian ships Python's venv module separately.
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  echo "Installing python3-venv (Debian package)..."
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends python3-venv
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore .venv/bin/pip install -q -e .

export VOLTFLEET_MODE=demo
exec .venv/bin/voltfleet demo "$@"
