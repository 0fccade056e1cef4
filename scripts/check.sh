#!/usr/bin/env bash
# The static checks: lint, format, types (core and resources/), the layer contracts, and the Dagster
# definitions as `dg` loads them.
# Run by scripts/test.sh before the tests; run alone with `bash scripts/check.sh` (after setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "==> ruff check";         "$bin/ruff" check .
echo "==> ruff format --check"; "$bin/ruff" format --check .
echo "==> mypy";               "$bin/mypy"
echo "==> import contracts";   "$bin/lint-imports" --no-cache
echo "==> dg check defs"
# A throwaway Dagster home with the project's instance settings (telemetry off): nothing is written
# to the user's own DAGSTER_HOME, and dg prints no first-run notice.
dagster_home=$(mktemp -d)
trap 'rm -rf "$dagster_home"' EXIT
cp scripts/dagster.yaml "$dagster_home/dagster.yaml"
DAGSTER_HOME="$dagster_home" PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$bin/dg" check defs
