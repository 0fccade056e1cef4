#!/usr/bin/env bash
# The static checks: lint, format, types (core and resources/), and the layer contracts.
# Run by scripts/test.sh before the tests; run alone with `bash scripts/check.sh` (after setup.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
echo "==> ruff check";         "$bin/ruff" check .
echo "==> ruff format --check"; "$bin/ruff" format --check .
echo "==> mypy";               "$bin/mypy"
echo "==> import contracts";   "$bin/lint-imports" --no-cache
