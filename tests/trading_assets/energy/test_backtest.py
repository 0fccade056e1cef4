"""The spread strategy's PnL and metrics on a hand-made case, and the purged walk-forward refits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

from resources.table_store.embedded import EmbeddedTableStore
from resources.table_store.resource import TableStoreResource
from tests.trading_assets.energy.helpers import CONFIG, SPECS, days, market_days
from trading_assets.energy.assets import build_energy_assets
from trading_assets.energy.backtest import baseline_positions, hourly_pnl, positions, spread_backtest, summary
from trading_assets.energy.dataset import fit_validation_split, read_dataset, training_rows, walk_forward
from trading_assets.energy.run_config import training_config
from trading_assets.models.training import XGBoostParams

HOUR_US = 3_600_000_000
TIMES = np.arange(5, dtype=np.int64) * HOUR_US


def test_positions_follow_the_predicted_sign_and_stay_flat_under_the_threshold() -> None:
    predicted = np.array([3.0, -0.5, 0.5, -2.0, np.nan, 0.51])
    assert positions(predicted, threshold=0.5, size_mw=2.0).tolist() == [2.0, 0.0, 0.0, -2.0, 0.0, 2.0]


def test_hourly_pnl_and_metrics_of_a_hand_made_case() -> None:
    # Arrange: five hours; long, short, flat, long, short at 1 MW with a 0.5 EUR/MWh fee.
    da = np.array([50.0, 60.0, 70.0, 40.0, 30.0])
    vwap = np.array([54.0, 57.0, 10.0, 39.0, 30.0])
    held = np.array([1.0, -1.0, 0.0, 1.0, -1.0])
    # Act
    pnl = hourly_pnl(held, da_price=da, vwap=vwap, fee_per_mwh=0.5)
    result = spread_backtest(TIMES, held, da_price=da, vwap=vwap, fee_per_mwh=0.5, capital=1_000.0)
    # Assert: +4 - 0.5, +3 - 0.5, 0, -1 - 0.5, 0 - 0.5
    assert pnl.tolist() == [3.5, 2.5, 0.0, -1.5, -0.5]
    np.testing.assert_allclose(result.equity, 1_000.0 + np.cumsum([3.5, 2.5, 0.0, -1.5, -0.5]))
    scores = summary(result)
    assert scores["pnl_eur"] == pytest.approx(4.0)
    assert scores["total_return"] == pytest.approx(0.004)
    assert scores["traded_hours"] == 4
    assert scores["trades"] == 8  # each traded hour: a day-ahead fill and an intraday fill
    assert scores["round_trips"] == 4
    assert scores["hit_rate"] == pytest.approx(0.5)  # two of four traded hours made money after fees
    assert scores["exposure"] == pytest.approx(0.8)
    assert scores["max_drawdown"] == pytest.approx(2.0 / 1_006.0)
    # The fills: open at the day-ahead price, close at the VWAP, half the fee on each.
    assert result.fills.price[:4].tolist() == [50.0, 54.0, 60.0, 57.0]
    assert result.fills.position[:4].tolist() == [1.0, 0.0, -1.0, 0.0]
    assert result.fills.fee.sum() == pytest.approx(2.0)


def test_the_baselines_are_flat_and_always_long_the_spread() -> None:
    da = np.array([50.0, 60.0, 70.0])
    vwap = np.array([54.0, 57.0, 71.0])
    flat = spread_backtest(
        TIMES[:3],
        baseline_positions("flat", 3, size_mw=1.0),
        da_price=da,
        vwap=vwap,
        fee_per_mwh=0.5,
        capital=100.0,
    )
    long = spread_backtest(
        TIMES[:3],
        baseline_positions("always_long", 3, size_mw=1.0),
        da_price=da,
        vwap=vwap,
        fee_per_mwh=0.5,
        capital=100.0,
    )
    assert summary(flat)["pnl_eur"] == 0.0 and summary(flat)["trades"] == 0
    assert summary(long)["pnl_eur"] == pytest.approx(4 - 3 + 1 - 1.5)


def test_a_position_in_an_hour_that_cannot_be_settled_is_refused() -> None:
    with pytest.raises(ValueError, match="lacks its day-ahead price or intraday VWAP"):
        spread_backtest(
            TIMES[:2],
            np.array([1.0, 1.0]),
            da_price=np.array([1.0, 2.0]),
            vwap=np.array([1.0, np.nan]),
            fee_per_mwh=0.0,
            capital=1.0,
        )


def _features(tmp_path: Path, count: int) -> EmbeddedTableStore:
    market_days(tmp_path / "tables", count)
    (features, *_) = build_energy_assets(CONFIG, SPECS)
    table_store = TableStoreResource(kind="embedded", embedded_dir=str(tmp_path / "tables"))
    for day in days(count):
        assert dg.materialize(
            [features], partition_key=day.isoformat(), resources={"table_store": table_store}
        ).success
    return EmbeddedTableStore(tmp_path / "tables")


def test_every_training_label_of_a_walk_forward_day_was_known_before_its_decision(tmp_path: Path) -> None:
    # Arrange
    with _features(tmp_path, 5) as store:
        dataset = read_dataset(store, CONFIG.area, days(5)[0], days(5)[-1])
    test_days = days(5)[2:]
    # Act
    oos = walk_forward(
        dataset,
        test_days,
        config=training_config(7, XGBoostParams(n_estimators=20)),
        params=XGBoostParams(n_estimators=20),
        lead_hours=CONFIG.lead_hours,
    )
    # Assert
    assert oos.days == tuple(test_days)
    assert len(oos.rows) == len(oos.predictions) == 72
    for day, count in zip(test_days, oos.train_rows, strict=True):
        test = dataset.rows_of(day)
        train = training_rows(dataset, int(test[0]), int(test[-1]) + 1, lead_hours=CONFIG.lead_hours)
        assert count == train.size > 0
        # A label is known when its delivery hour ends; the newest must end before the decision.
        assert int(dataset.delivery_us[train].max()) + HOUR_US <= CONFIG.decision_us(day)
        # And nothing more was thrown away than the hours between that and the decision.
        assert CONFIG.decision_us(day) - int(dataset.delivery_us[train].max()) <= 3 * HOUR_US


def test_the_validation_hours_are_purged_from_the_fit_hours(tmp_path: Path) -> None:
    with _features(tmp_path, 4) as store:
        dataset = read_dataset(store, CONFIG.area, days(4)[0], days(4)[-1])
    split = fit_validation_split(dataset, validation_days=1, lead_hours=CONFIG.lead_hours)
    assert split.test.tolist() == list(range(72, 96))
    first_validation = dataset.delivery_us[split.test[0]]
    assert dataset.delivery_us[split.train].max() + HOUR_US <= first_validation - CONFIG.lead_hours * HOUR_US


def test_a_window_with_a_missing_day_is_refused_naming_it(tmp_path: Path) -> None:
    with _features(tmp_path, 2) as store:
        with pytest.raises(ValueError, match="first missing 2026-03-04"):
            read_dataset(store, CONFIG.area, days(3)[0], days(3)[-1])


def test_test_day_without_enough_earlier_hours_is_refused(tmp_path: Path) -> None:
    with _features(tmp_path, 2) as store:
        dataset = read_dataset(store, CONFIG.area, days(2)[0], days(2)[-1])
    with pytest.raises(ValueError, match=r"test day 2026-03-03: only \d+ labelled rows"):
        walk_forward(
            dataset,
            [dt.date(2026, 3, 3)],
            config=training_config(7, XGBoostParams()),
            params=XGBoostParams(),
            lead_hours=CONFIG.lead_hours,
        )
