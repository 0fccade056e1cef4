#!/bin/sh
# First start of Postgres (docker-entrypoint-initdb.d): one login role and one database per user of it,
# each role owning only its own database. Passwords come from the environment and reach psql as
# variables (quoted by psql), never spliced into the SQL text.
set -eu
: "${DAGSTER_PG_PASSWORD:?}" "${MLFLOW_PG_PASSWORD:?}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v dagster_password="$DAGSTER_PG_PASSWORD" -v mlflow_password="$MLFLOW_PG_PASSWORD" <<'SQL'
CREATE ROLE dagster LOGIN PASSWORD :'dagster_password';
CREATE DATABASE dagster OWNER dagster;
REVOKE ALL ON DATABASE dagster FROM PUBLIC;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_password';
CREATE DATABASE mlflow OWNER mlflow;
REVOKE ALL ON DATABASE mlflow FROM PUBLIC;
SQL
