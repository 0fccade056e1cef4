"""A delivery day's features from the source tables: exact values on a hand-made day, and no forecast
version published after the decision time ever reaching them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from resources.table_store.embedded import EmbeddedTableStore
from tests.trading_assets.energy.hand_made import HAND_MADE_DAY, hand_made_day
from tests.trading_assets.energy.helpers import (
    CONFIG,
    DA,
    LOAD,
    SPECS,
    WIND_SOLAR,
    hour,
    market_days,
)
from trading_assets.energy.assets import energy_specs
from trading_assets.energy.day import build_day, lookahead_rows
from trading_assets.energy.features import FEATURE_COLUMNS

DAY = HAND_MADE_DAY
SPECS_BY_NAME = energy_specs(CONFIG, SPECS)


def test_a_hand_made_day_gives_exact_features_and_labels(tmp_path: Path) -> None:
    # Arrange
    with EmbeddedTableStore(tmp_path) as store:
        hand_made_day(store, late_load=False)
        # Act
        built = build_day(store, CONFIG, SPECS_BY_NAME, DAY)
    # Assert
    rows = built.rows.to_pydict()
    decision = CONFIG.decision_us(DAY)
    assert rows["decision_us"] == [decision] * 24 == [hour(DAY, -12)] * 24
    assert rows["da_price"] == [50.0 + h for h in range(24)]
    expected_load = [2_000.0 + h for h in range(24)]
    expected_load[5] = np.nan  # its only version came after the decision
    expected_load[7] = 1_007.0  # not revised: the first issue is the latest by the decision
    np.testing.assert_array_equal(rows["load_forecast_mw"], expected_load)
    np.testing.assert_array_equal(rows["wind_solar_forecast_mw"], [301.5] * 24)
    np.testing.assert_array_equal(rows["residual_load_mw"], np.array(expected_load) - 301.5)
    assert rows["hour"] == [float(h) for h in range(24)]
    assert rows["weekday"] == [2.0] * 24
    vwap = np.full(24, np.nan)
    vwap[0], vwap[3] = 40.0, (60.0 * 1 + 54.0 * 3) / 4
    np.testing.assert_allclose(rows["intraday_vwap"], vwap)
    np.testing.assert_allclose(rows["spread"], vwap - (50.0 + np.arange(24)))
    assert rows["intraday_trades"][:4] == [1, 0, 0, 2]
    assert rows["intraday_volume_mw"][3] == 4.0
    assert built.missing == {
        "da_price": 0,
        "load_forecast": 1,
        "wind_solar_forecast": 0,
        "intraday_trades": 22,
    }
    assert max(rows["load_published_us"]) == decision - 3 * 3_600_000_000
    assert rows["load_published_us"][5] == 0


def test_a_forecast_revision_published_after_the_decision_never_reaches_the_features(tmp_path: Path) -> None:
    # Arrange: the same day twice, once with a late revision of every load value planted.
    with EmbeddedTableStore(tmp_path / "clean") as clean, EmbeddedTableStore(tmp_path / "late") as late:
        hand_made_day(clean, late_load=False)
        hand_made_day(late, late_load=True)
        # Act
        without = build_day(clean, CONFIG, SPECS_BY_NAME, DAY).rows
        with_late = build_day(late, CONFIG, SPECS_BY_NAME, DAY).rows
    # Assert: identical rows; the late values exist in the store but are nowhere in the features.
    assert with_late.to_pandas().equals(without.to_pandas())  # NaN where both lack a value
    assert 123_456.0 not in with_late["load_forecast_mw"].to_pylist()
    decision = CONFIG.decision_us(DAY)
    for column in ("da_published_us", "load_published_us", "generation_published_us"):
        assert max(with_late[column].to_pylist()) <= decision


def test_a_later_decision_hour_sees_the_late_revision(tmp_path: Path) -> None:
    # The late version is real data: a decision after it was published does use it (the filter is the
    # publication time, not a blanket exclusion).
    from dataclasses import replace

    with EmbeddedTableStore(tmp_path) as store:
        hand_made_day(store, late_load=True)
        built = build_day(store, replace(CONFIG, decision_hour_utc=13), SPECS_BY_NAME, DAY)
    expected = [123_456.0] * 24
    expected[5] = 9_999.0  # issued at 13:00, after the planted revision: the newest by the decision
    assert built.rows["load_forecast_mw"].to_pylist() == expected


def test_seeded_market_days_have_complete_features_for_every_hour(tmp_path: Path) -> None:
    market_days(tmp_path, 3)
    with EmbeddedTableStore(tmp_path) as store:
        built = build_day(store, CONFIG, SPECS_BY_NAME, dt.date(2026, 3, 3))
    values = np.column_stack([built.rows[c].to_numpy() for c in FEATURE_COLUMNS])
    assert built.rows.num_rows == 24 and not np.isnan(values).any()
    assert built.complete_hours == 24
    # The quarter-hour trades at 999 EUR/MWh were left out of the hourly VWAP.
    assert max(built.rows["intraday_vwap"].to_pylist()) < 300
    assert built.missing == {
        "da_price": 0,
        "load_forecast": 0,
        "wind_solar_forecast": 0,
        "intraday_trades": 0,
    }


def test_a_source_the_config_names_but_nobody_configured_is_refused() -> None:
    with pytest.raises(ValueError, match="intraday_trades_de"):
        energy_specs(CONFIG, [DA, LOAD, WIND_SOLAR])


def test_the_lookahead_count_finds_a_stored_row_that_used_a_late_version(tmp_path: Path) -> None:
    with EmbeddedTableStore(tmp_path) as store:
        hand_made_day(store, late_load=True)
        rows = build_day(store, CONFIG, SPECS_BY_NAME, DAY).rows
    assert lookahead_rows(rows) == 0
    published = rows["generation_published_us"].to_numpy().copy()
    published[7] = CONFIG.decision_us(DAY) + 1
    doctored = rows.set_column(
        rows.schema.get_field_index("generation_published_us"), "generation_published_us", pa.array(published)
    )
    assert lookahead_rows(doctored) == 1
