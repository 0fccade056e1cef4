"""Real servers on 127.0.0.1 for tests, benchmarks and local runs: ClickHouse, Kafka (Tansu), S3 (moto), MLflow."""

from resources.servers.base import ManagedServer, ServerStartError, free_port, install_cleanup_handlers
from resources.servers.clickhouse import ClickHouseServer
from resources.servers.kafka import KafkaBroker
from resources.servers.mlflow import MlflowServer
from resources.servers.s3 import S3Server

__all__ = [
    "ClickHouseServer",
    "KafkaBroker",
    "ManagedServer",
    "MlflowServer",
    "S3Server",
    "ServerStartError",
    "free_port",
    "install_cleanup_handlers",
]
