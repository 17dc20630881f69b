#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian 12 machine and run them all:
# ruff, mypy (strict on the core and the wire engines), the import contracts (layers),
# and pytest (unit, SQLite and PostgreSQL, browser).
# This is what CI runs (.ci/run), as root. Reruns skip what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-venv postgresql mosquitto chromium fonts-liberation nginx openssl redis-server)
START=$SECONDS

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian packages: the real servers and browser the tests start.
step "Debian packages: ${APT_PACKAGES[*]}"
t=$SECONDS
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "all installed"
fi
APT_S=$((SECONDS - t))

# 2. Python packages in .venv.
step "Python packages (.venv, pip install -e '.[test]')"
t=$SECONDS
[ -x .venv/bin/python ] || python3 -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
.venv/bin/pip install -q -e '.[test]'
PIP_S=$((SECONDS - t))

# 3. The checks: each runs even when an earlier one failed; the summary says which failed.
export VOLTFLEET_REQUIRE_PG=1 VOLTFLEET_REQUIRE_BROWSER=1 VOLTFLEET_REQUIRE_MQTT=1 VOLTFLEET_REQUIRE_NGINX=1 VOLTFLEET_REQUIRE_REDIS=1
mkdir -p test-artifacts
t=$SECONDS
results=()
failed=0
check() {
  local name=$1
  shift
  step "$name: $*"
  local s=$SECONDS
  if "$@"; then
    results+=("ok    $name ($((SECONDS - s)) s)")
  else
    results+=("FAIL  $name ($((SECONDS - s)) s)")
    failed=1
  fi
}
check ruff .venv/bin/ruff check src tests benchmarks
check mypy .venv/bin/mypy src/voltfleet/domain src/voltfleet/usecases src/voltfleet/protocols \
  src/voltfleet/ports.py src/voltfleet/clock.py
check import-contracts .venv/bin/lint-imports --no-logo
check pytest .venv/bin/pytest -q --junitxml=test-artifacts/junit.xml --durations=10
TEST_S=$((SECONDS - t))

step "Summary"
printf '  %s\n' "${results[@]}"
echo "  time: apt ${APT_S} s, pip ${PIP_S} s, checks ${TEST_S} s, total $((SECONDS - START)) s"
echo "  screenshots and junit.xml: test-artifacts/"
if [ "$failed" -ne 0 ]; then echo "  RESULT: FAILED"; else echo "  RESULT: all green"; fi
# The plain closing line CI reads: counts from pytest's junit report.
if [ -f test-artifacts/junit.xml ]; then
  .venv/bin/python - <<'PY'
import xml.etree.ElementTree as ET

suite = ET.parse("test-artifacts/junit.xml").getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
total, failed = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
skipped = int(suite.get("skipped", 0))
print(f"tests: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
fi
exit "$failed"

