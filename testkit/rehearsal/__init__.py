"""A rehearsal of docker/compose.yaml without a Docker engine: its tradegraph services, run for real.

Run inside a private network and mount namespace (it refuses to run in the host's):

    unshare --net --mount --fork .venv/bin/python -m testkit.rehearsal --workdir DIR

It brings up loopback, gives every compose service an address 127.0.0.N in a private /etc/hosts (bind
mounted), and starts a stand-in for each third-party service on its address and compose port: ClickHouse
18.16 for ``clickhouse``, Tansu for ``kafka``, moto for ``minio``, an MLflow server for ``mlflow`` and
Prometheus with docker/prometheus/prometheus.yml as it is. Then it runs exchange-sim, streamer, loader and
executor with the compose file's own command and environment (the secrets from a test env file built from
docker/env.example), loads the Dagster definitions with the webserver's environment, and writes what it
saw to ``DIR/result.json``: tick counts in the store, each service's state and outgoing connections, the
definitions check and Prometheus's targets. Every process it started is stopped at the end.
"""
