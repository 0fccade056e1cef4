#!/bin/sh
# One-shot set-up of MinIO for the compose stack (service minio-init), safe to run at every start:
# bucket `tradegraph`, policy `tradegraph-bucket` (that bucket only) and user `tradegraph` holding it.
# Secrets come from the environment only and are never echoed.
set -eu
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${MINIO_TRADEGRAPH_SECRET_KEY:?}"

mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" > /dev/null
mc mb --ignore-existing local/tradegraph
mc admin policy create local tradegraph-bucket /init/tradegraph-bucket-policy.json
# Adding an existing user sets its secret: this is also how the key is rotated.
mc admin user add local tradegraph "$MINIO_TRADEGRAPH_SECRET_KEY" > /dev/null
if ! mc admin user info local tradegraph | grep -q 'tradegraph-bucket'; then
    mc admin policy attach local tradegraph-bucket --user tradegraph
fi
echo "minio-init: bucket tradegraph, user tradegraph with policy tradegraph-bucket"
