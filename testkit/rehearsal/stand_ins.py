"""Stand-ins for the compose file's third-party services, on their service's address and compose port."""

from __future__ import annotations

import logging
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from testkit.rehearsal.compose import DOCKER, environment_of
from testkit.servers import ClickHouseServer, KafkaBroker, PostgresServer, S3Server
from testkit.servers.base import ManagedServer

log = logging.getLogger(__name__)


def _clickhouse_users(password: str) -> str:
    """users.xml of the stand-in: docker/clickhouse/users.d/tradegraph.xml in 18.16's terms (it has no
    ``from_env`` or ``grants``: the password is written here and the database limit is
    ``allow_databases``); ``default`` creates the database as the image's CLICKHOUSE_DB does."""
    from xml.sax.saxutils import escape

    quota = (
        "<interval><duration>3600</duration><queries>0</queries><errors>0</errors>"
        "<result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval>"
    )
    return (
        '<?xml version="1.0"?>\n<yandex>\n'
        "<profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>\n"
        f"<quotas><default>{quota}</default></quotas>\n<users>\n"
        "<default><password></password><networks><ip>::/0</ip></networks>"
        "<profile>default</profile><quota>default</quota></default>\n"
        f"<tradegraph><password>{escape(password)}</password><networks><ip>::/0</ip></networks>"
        "<profile>default</profile><quota>default</quota>"
        "<allow_databases><database>tradegraph</database></allow_databases></tradegraph>\n"
        "</users>\n</yandex>\n"
    )


def start_stand_ins(
    services: dict[str, Any], addr: dict[str, str], workdir: Path, stack: ExitStack, pool: ThreadPoolExecutor
) -> None:
    """ClickHouse, Tansu, moto and PostgreSQL on their service's address and compose port, started at
    once, each set up as the compose file's first start does (database, bucket, roles)."""
    clickhouse_env = environment_of(services["clickhouse"])
    postgres_env = environment_of(services["postgres"])
    users = workdir / "clickhouse-users.xml"
    users.write_text(_clickhouse_users(clickhouse_env["CLICKHOUSE_TRADEGRAPH_PASSWORD"]))
    postgres = PostgresServer(
        workdir / "postgres",
        superuser_password=postgres_env["POSTGRES_PASSWORD"],
        host=addr["postgres"],
        port=5432,
    )
    stand_ins: dict[str, ManagedServer] = {
        "clickhouse": ClickHouseServer(
            workdir / "clickhouse", host=addr["clickhouse"], tcp_port=9000, http_port=8123, users_config=users
        ),
        "kafka": KafkaBroker(workdir / "kafka", host=addr["kafka"], port=9092, advertised_host="kafka"),
        "minio": S3Server(workdir / "minio", host=addr["minio"], port=9000),
        "postgres": postgres,
    }
    for server in stand_ins.values():
        stack.callback(server.stop)
    for future in [pool.submit(server.start) for server in stand_ins.values()]:
        future.result()
    # CLICKHOUSE_DB: the image creates the database at first start.
    import clickhouse_driver

    client = clickhouse_driver.Client(host="clickhouse", port=9000, user="default")
    client.execute(f"CREATE DATABASE IF NOT EXISTS {clickhouse_env['CLICKHOUSE_DB']}")
    client.disconnect()
    # minio-init: bucket tradegraph for the user tradegraph.
    import boto3

    minio_env = environment_of(services["minio-init"])
    boto3.client(
        "s3",
        endpoint_url="http://minio:9000",
        aws_access_key_id="tradegraph",
        aws_secret_access_key=minio_env["MINIO_TRADEGRAPH_SECRET_KEY"],
        region_name="us-east-1",
    ).create_bucket(Bucket="tradegraph")
    # docker-entrypoint-initdb.d: docker/postgres/init.sh makes the dagster and mlflow roles and databases.
    subprocess.run(
        ["sh", str(DOCKER / "postgres" / "init.sh")],
        env={**postgres.psql_env(), **postgres_env},
        check=True,
        capture_output=True,
        timeout=60,
    )


def row_count(
    password: str,
    prefix: str,
    *,
    host: str = "clickhouse",
    port: int = 9000,
    user: str = "tradegraph",
    database: str = "tradegraph",
) -> int:
    """Rows in ``database``'s tables named ``prefix*`` (``ticks``, ``src_``), read as ``user`` (the
    compose services' by default); -1 when ClickHouse cannot be asked. A write's staging table is not
    counted: it holds a copy of rows on their way in, and is dropped at any moment (also between the
    listing and its count)."""
    import clickhouse_driver
    from clickhouse_driver.errors import Error as ClickHouseError

    from resources.table_store.clickhouse import STAGING_INFIX

    client = clickhouse_driver.Client(host=host, port=port, user=user, password=password, database=database)
    try:
        tables = [row[0] for row in client.execute("SHOW TABLES")]
        named = [t for t in tables if t.startswith(prefix) and STAGING_INFIX not in t]
        return sum(int(client.execute(f"SELECT count() FROM `{t}`")[0][0]) for t in named)
    except (ClickHouseError, OSError) as exc:  # -1 in the result; the rehearsal goes on
        log.warning("count of %s* rows failed: %s", prefix, exc)
        return -1
    finally:
        client.disconnect()


def mlflow_answers(log_path: Path) -> dict[str, int]:
    """Status codes MLflow gave the services (its log's access lines, the launcher's probe left out)."""
    codes: dict[str, int] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        match = re.search(r'"(?:GET|POST) (\S+) HTTP/[0-9.]+" (\d{3})', line)
        if match and "registered-models/search" not in match.group(1):
            codes[match.group(2)] = codes.get(match.group(2), 0) + 1
    return codes
