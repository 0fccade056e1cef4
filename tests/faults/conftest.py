"""Fixtures of the fault tests: a fresh broker per test, own servers where a test restarts them.

Each test gets its own Tansu broker (memory storage starts in about 0.1 s): the topic ``ticks.sim`` and
the consumer group ``loader`` are the same names in every test, so on a shared broker a test could
receive what an earlier (perhaps failed) test left uncommitted. ClickHouse is the session server with a
fresh database per test, except in the test that stops it, which starts its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import boto3
import pyarrow as pa
import pytest

from resources.model_registry.base import ModelRegistry
from testkit.harness import Processes
from testkit.servers import ClickHouseServer, KafkaBroker, S3Server
from testkit.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY
from tests.faults.executor_run import Outcome, champion_registry, trading_day, uninterrupted
from tests.faults.stack import KafkaIngest


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Whatever a test starts here is stopped afterwards, also when it fails."""
    started = Processes()
    yield started
    started.close()


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A Tansu broker on memory storage for this test only."""
    with KafkaBroker(tmp_path / "tansu") as broker:
        yield broker  # type: ignore[misc]


@pytest.fixture
def durable_broker(tmp_path: Path, s3_server: S3Server) -> Iterator[KafkaBroker]:
    """A Tansu broker whose topics, records and committed offsets live in S3 (moto), so they survive
    a restart of the broker, as a real Kafka broker's log directory does."""
    bucket = f"tansu-{uuid.uuid4().hex[:10]}"
    boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    ).create_bucket(Bucket=bucket)
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT": s3_server.endpoint_url,
        "AWS_ALLOW_HTTP": "true",
    }
    with KafkaBroker(tmp_path / "tansu", storage=f"s3://{bucket}/", env=env) as broker:
        yield broker  # type: ignore[misc]


@pytest.fixture
def own_clickhouse(tmp_path: Path) -> Iterator[ClickHouseServer]:
    """A ClickHouse server for this test only (for tests that stop and start it)."""
    with ClickHouseServer(tmp_path / "clickhouse") as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def kafka_ingest(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., KafkaIngest]]:
    """``kafka_ingest(broker=.., clickhouse=.., kafka_client=..)``: the processes of one test, always
    stopped afterwards.

    Without ``clickhouse`` the session server is used (a fresh database per test); ``kafka_client`` is
    the services' TRADEGRAPH_KAFKA_CLIENT (kafka-python unless given).
    """
    made: list[KafkaIngest] = []

    def make(
        *, broker: KafkaBroker, clickhouse: ClickHouseServer | None = None, kafka_client: str = "kafka-python"
    ) -> KafkaIngest:
        server = clickhouse or request.getfixturevalue("clickhouse_server")
        ingest = KafkaIngest(
            tmp_path / f"ingest{len(made)}", clickhouse=server, broker=broker, kafka_client=kafka_client
        )
        made.append(ingest)
        return ingest

    yield make
    for ingest in made:
        ingest.close()


# --- the executor fault tests (tests/faults/executor_run.py) -----------------------------------------


@pytest.fixture(scope="session")
def market() -> tuple[pa.Table, pa.Table]:
    """A training day and the first hours of a trading day of a trending symbol (ticks of each)."""
    return trading_day()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory, market: tuple[pa.Table, pa.Table]) -> ModelRegistry:
    """A sqlite MLflow registry whose champion is an XGBoost model trained on the market's first day."""
    return champion_registry(tmp_path_factory.mktemp("registry"), market[0])


@pytest.fixture(scope="session")
def reference(
    tmp_path_factory: pytest.TempPathFactory, market: tuple[pa.Table, pa.Table], registry: ModelRegistry
) -> Outcome:
    """The uninterrupted run of the executor on the trading day (in process, over the embedded bus)."""
    return uninterrupted(tmp_path_factory.mktemp("reference"), market[1], registry)
