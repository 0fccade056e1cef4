"""Fixtures of the services' tests: the bus and table store a source pipeline runs on."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from resources.bus.base import TickBus
from resources.bus.embedded import EmbeddedTickBus
from resources.bus.kafka import KafkaTickBus
from resources.table_store.base import TableStore
from resources.table_store.clickhouse import ClickHouseTableStore
from resources.table_store.embedded import EmbeddedTableStore
from testkit.servers import ClickHouseServer, KafkaBroker


@pytest.fixture(params=["embedded", "real"])
def systems(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TickBus, TableStore]]:
    """The embedded bus and table store, then Kafka (Tansu) and ClickHouse 18.16 (a database of its own)."""
    if request.param == "embedded":
        with EmbeddedTickBus() as bus:
            yield bus, EmbeddedTableStore(tmp_path / "tables")
        return
    broker: KafkaBroker = request.getfixturevalue("kafka_broker")
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    with KafkaTickBus(broker.bootstrap, request_timeout_ms=10_000) as bus:
        store = ClickHouseTableStore(server.url, database=f"sources_{uuid.uuid4().hex[:8]}")
        yield bus, store
        store.close()
