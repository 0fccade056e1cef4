"""Real servers on 127.0.0.1 for tests, benchmarks and local runs: ClickHouse, Kafka (Tansu), S3 (moto), MLflow,
Prometheus, PostgreSQL."""

from testkit.servers.base import ManagedServer, ServerStartError, free_port, install_cleanup_handlers
from testkit.servers.clickhouse import ClickHouseServer
from testkit.servers.kafka import KafkaBroker
from testkit.servers.mlflow import MlflowServer
from testkit.servers.postgres import PostgresServer
from testkit.servers.prometheus import PrometheusServer
from testkit.servers.s3 import S3Server

__all__ = [
    "ClickHouseServer",
    "KafkaBroker",
    "ManagedServer",
    "MlflowServer",
    "PostgresServer",
    "PrometheusServer",
    "S3Server",
    "ServerStartError",
    "free_port",
    "install_cleanup_handlers",
]
