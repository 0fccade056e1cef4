#!/usr/bin/env bash
# The main job on the embedded defaults: set up .venv if needed, then run `tradegraph demo`.
# Extra arguments go to `tradegraph demo` (see `.venv/bin/tradegraph demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/tradegraph demo "$@"
