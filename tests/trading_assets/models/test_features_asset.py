"""The features asset reads bars from the table store, and rebuilds them from the ticks (hot or archived)
when a day's bars are not stored, so archived days make features and train models like hot ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np

from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.table_store.embedded import EmbeddedTableStore
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_bounds_us, day_start_us
from trading_assets.definitions import resources
from trading_assets.market.bars import BARS_TABLE, compute_bars_1m
from trading_assets.market.simulation import simulate_day
from trading_assets.models.features import FEATURES_TABLE, compute_features
from trading_assets.models.features_asset import features

DAY = dt.date(2025, 6, 2)


def test_an_archived_day_without_stored_bars_gets_its_features_from_the_archive(tmp_path: Path) -> None:
    # Arrange: the day's ticks live only in the archive (dropped from the store), no bars are stored.
    ticks = simulate_day(day_start_us=day_start_us(DAY), ticks=60_000, symbols=("BTCUSDT", "ETHUSDT"))
    with open_tick_archive(TickArchiveConfig(location=str(tmp_path / "archive"))) as archive:
        archive.write_day(DAY, ticks)
    graph = resources(Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)}))
    # Act
    result = dg.materialize([features], partition_key=DAY.isoformat(), resources=graph)
    # Assert: the stored features equal those of the day's bars computed directly.
    assert result.success
    metadata = result.asset_materializations_for_node("features")[0].metadata
    assert metadata["bars_from"].value == {"2025-06-01": "missing", "2025-06-02": "ticks"}
    store = EmbeddedTableStore(tmp_path / "tables")
    start, end = day_bounds_us(DAY)
    stored = store.read(FEATURES_TABLE, start_us=start, end_us=end)
    expected = compute_features(compute_bars_1m(ticks))
    assert stored.num_rows == expected.num_rows == metadata["rows"].value
    for name in ("minute_us", "ret_15", "ofi_15", "vwap_dist_60"):
        np.testing.assert_array_equal(stored[name].to_numpy(), expected[name].to_numpy())
    assert store.days(BARS_TABLE) == []


def test_a_day_with_neither_bars_nor_ticks_fails_saying_what_to_materialize(tmp_path: Path) -> None:
    graph = resources(Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)}))
    result = dg.materialize([features], partition_key=DAY.isoformat(), resources=graph, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert "materialize tick_partition and bars_1m for 2025-06-02" in str(failure.step_failure_data.error)
