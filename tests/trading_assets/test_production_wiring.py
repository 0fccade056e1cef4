"""The asset graph on the production wiring: ClickHouse 18.16 and S3 (moto), configured only through the
environment, through the Dagster resources that ``trading_assets.definitions`` builds from the settings,
and the jobs the sensor and schedule launch. Two venues' REST histories (the simulated exchange speaks
Binance's protocol) fill the gaps the seal finds."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.table_store.factory import TableStoreConfig, open_table_store
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.servers.clickhouse import ClickHouseServer
from testkit.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from tests.trading_assets.venues import traded_venue
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_bounds_us
from trading_assets.definitions import defs
from trading_assets.market.bars import BARS_TABLE

TODAY = dt.datetime.now(dt.UTC).date()
OLD = TODAY - dt.timedelta(days=5)  # past a one-day hot retention
RECENT = TODAY - dt.timedelta(days=1)  # within it
SYMBOLS = ("BTCUSDT", "ETHUSDT")
TRADES = 3_000


@pytest.fixture(scope="module")
def sim_venue() -> Iterator[tuple[str, pa.Table]]:
    """Venue ``sim`` traded on OLD."""
    with traded_venue("sim", OLD, symbols=SYMBOLS, trades=TRADES) as venue:
        yield venue


@pytest.fixture(scope="module")
def binance_venue() -> Iterator[tuple[str, pa.Table]]:
    """Venue ``binance`` (the simulator on Binance's REST protocol) traded on RECENT."""
    with traded_venue("binance", RECENT, symbols=SYMBOLS, trades=TRADES) as venue:
        yield venue


def _without(ticks: pa.Table, symbol: str, first: int, last: int) -> pa.Table:
    ids, symbols = ticks["trade_id"], ticks["symbol"]
    hole = pc.and_(pc.equal(symbols, symbol), pc.and_(pc.greater_equal(ids, first), pc.less_equal(ids, last)))
    return ticks.filter(pc.invert(hole))


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    (event,) = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_seal_bars_archive_and_retention_on_clickhouse_and_s3(
    clickhouse_server: ClickHouseServer,
    s3_server: S3Server,
    sim_venue: tuple[str, pa.Table],
    binance_venue: tuple[str, pa.Table],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Arrange: production configuration, in the environment only (what `dg dev` would load).
    sim_rest, old_trades = sim_venue
    binance_rest, recent_trades = binance_venue
    bucket = f"wiring-{uuid.uuid4().hex[:12]}"
    environment = {
        "TRADEGRAPH_HOME": str(tmp_path),
        "TRADEGRAPH_STORE": "clickhouse",
        "TRADEGRAPH_CLICKHOUSE_URL": clickhouse_server.url,
        "TRADEGRAPH_CLICKHOUSE_DATABASE": f"wiring_{uuid.uuid4().hex[:8]}",
        "TRADEGRAPH_ARCHIVE": f"s3://{bucket}/prod",
        "TRADEGRAPH_S3_ENDPOINT": s3_server.endpoint_url,
        "TRADEGRAPH_S3_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "TRADEGRAPH_SIM_REST_URL": sim_rest,
        "TRADEGRAPH_BINANCE_REST_URL": binance_rest,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    store_config = TickStoreConfig.from_settings(settings)
    archive_config = TickArchiveConfig.from_settings(settings)
    with open_tick_archive(archive_config) as archive:
        archive.ensure_bucket()  # the archive never creates its bucket by itself
    # What the loader left: each day with a hole the venue's REST history must fill, and redeliveries.
    with open_tick_store(store_config) as store:
        for trades in (old_trades, recent_trades):
            kept = _without(trades, "BTCUSDT", 200, 259)
            store.insert(kept)
            store.insert(kept.slice(0, 400))
    loaded = defs()
    assert loaded.resources["tick_store"].kind == "clickhouse"
    assert loaded.resources["tick_archive"].location == f"s3://{bucket}/prod"
    seal_and_bars = loaded.resolve_job_def("seal_and_bars")
    archive_ticks = loaded.resolve_job_def("archive_ticks")

    with dg.DagsterInstance.ephemeral() as instance:
        # Act: each day as the day-closed sensor and the archive schedule launch it.
        sealed = {
            day: seal_and_bars.execute_in_process(partition_key=day.isoformat(), instance=instance)
            for day in (OLD, RECENT)
        }
        archived_old = archive_ticks.execute_in_process(partition_key=OLD.isoformat(), instance=instance)
        archived_recent = archive_ticks.execute_in_process(
            partition_key=RECENT.isoformat(), instance=instance
        )
        with open_tick_store(store_config) as store:
            hot_after_archiving = {p.day for p in store.partitions()}
        # Retention is its own job (the retention schedule's): one day of retention drops OLD only.
        retained = loaded.resolve_job_def("store_retention").execute_in_process(
            instance=instance, run_config={"ops": {"hot_retention": {"config": {"hot_retention_days": 1}}}}
        )

    # Assert: every day sealed whole (REST filled the hole, duplicates gone) with passing checks.
    expected = {OLD: old_trades.num_rows, RECENT: recent_trades.num_rows}
    for day, result in sealed.items():
        assert result.success
        # day_complete is a warning (the simulated venue traded a few hours); the rest must pass.
        seal_checks = {name: ok for name, ok in _checks(result).items() if name != "day_complete"}
        assert all(seal_checks.values()), seal_checks
        assert _metadata(result, "tick_partition")["rows"] == expected[day]
        assert _metadata(result, "tick_partition")["gaps_filled"] == 60
        assert _metadata(result, "bars_1m")["ticks"] == expected[day]
    with open_tick_store(store_config) as store:
        hot = {p.day: p.rows for p in store.partitions()}
    with open_table_store(TableStoreConfig.from_settings(settings)) as tables:
        bars_days = {p.day: p.rows for p in tables.days(BARS_TABLE)}
        start_us, end_us = day_bounds_us(RECENT)
        btc_bars = tables.read(BARS_TABLE, start_us=start_us, end_us=end_us, filters={"symbol": "BTCUSDT"})
    assert bars_days[OLD] == _metadata(sealed[OLD], "bars_1m")["bars"] > 0
    assert bars_days[RECENT] == _metadata(sealed[RECENT], "bars_1m")["bars"] > 0
    btc = recent_trades.filter(pc.equal(recent_trades["symbol"], "BTCUSDT"))
    assert pc.sum(btc_bars["trades"]).as_py() == btc.num_rows
    # Both days archived on S3 and verified; archiving dropped nothing from the store ...
    assert archived_old.success and archived_recent.success
    assert all(_checks(archived_old).values()) and all(_checks(archived_recent).values())
    assert hot_after_archiving == {OLD, RECENT}
    # ... and the retention job with one day of retention dropped OLD from ClickHouse but kept RECENT.
    assert retained.success
    assert hot == {RECENT: expected[RECENT]}
    assert _metadata(retained, "hot_retention")["dropped_days"] == [OLD.isoformat()]
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == [
        f"prod/ticks/day={OLD.isoformat()}/ticks.parquet",
        f"prod/ticks/day={RECENT.isoformat()}/ticks.parquet",
    ]
    with open_tick_archive(archive_config) as archive:
        for day, rows in expected.items():
            assert archive.verify(day).rows == rows
        # The dropped day is whole in the archive.
        assert archive.read_day(OLD).num_rows == expected[OLD]
