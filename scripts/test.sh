#!/usr/bin/env bash
# The tests: set up .venv with test tools and the real servers, then run pytest.
# The tests start ClickHouse, Tansu (Kafka protocol), moto (S3) and MLflow on free 127.0.0.1 ports and
# stop them at the end. The static checks (scripts/check.sh) run first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
bash scripts/check.sh
exec .venv/bin/python -m pytest "$@"
