"""Labels: the net forward return from the next bar's open, hand-computed; NaN where the future is
unknown or belongs to another symbol; classes; and the cost taken from a cost model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pytest

from trading_assets.models.labels import forward_returns, label_end_offset, labels_of_table, make_labels

OPENS = np.array([100.0, 101.0, 102.0, 104.0, 101.0, 103.0])
COST = 0.001


def test_the_label_of_a_bar_runs_from_the_next_open_to_the_open_horizon_bars_later_net_of_costs() -> None:
    # Act
    returns = make_labels(OPENS, horizon=2, round_trip_cost=COST, kind="regression")

    # Assert: bar t enters at open[t+1], exits at open[t+3]; the last three bars have no known future.
    expected = [104.0 / 101.0 - 1 - COST, 101.0 / 102.0 - 1 - COST, 103.0 / 104.0 - 1 - COST]
    np.testing.assert_allclose(returns[:3], expected, rtol=1e-15)
    assert np.isnan(returns[3:]).all()
    assert label_end_offset(2) == 3


def test_classes_are_one_for_a_positive_net_return_zero_otherwise_and_nan_stays_nan() -> None:
    # Arrange: 101 -> 101.05 is +0.05%, positive before costs and negative after them.
    opens = np.array([100.0, 101.0, 101.05, 104.0, 101.0, 103.0])

    # Act
    gross = make_labels(opens, horizon=1, round_trip_cost=0.0, kind="classification")
    net = make_labels(opens, horizon=1, round_trip_cost=COST, kind="classification")

    # Assert
    np.testing.assert_array_equal(gross[:4], [1.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(net[:4], [0.0, 1.0, 0.0, 1.0])
    assert np.isnan(net[4:]).all() and np.isnan(gross[4:]).all()


def test_a_label_never_reads_the_next_symbols_opens() -> None:
    # Arrange: two series back to back.
    opens = np.concatenate([OPENS, OPENS * 10])
    groups = np.array([0] * 6 + [1] * 6)

    # Act
    returns = forward_returns(opens, 2, COST, groups=groups)

    # Assert: each series labelled as if alone.
    alone = forward_returns(OPENS, 2, COST)
    np.testing.assert_array_equal(returns[:6], alone)
    np.testing.assert_allclose(returns[6:], alone, rtol=1e-12)


@dataclass(frozen=True)
class FakeCosts:
    round_trip_cost: float


def test_the_cost_can_come_from_a_cost_model_with_a_round_trip_cost() -> None:
    np.testing.assert_array_equal(
        forward_returns(OPENS, 1, FakeCosts(round_trip_cost=0.0025)), forward_returns(OPENS, 1, 0.0025)
    )


def test_labels_of_a_table_follow_its_symbols_and_refuse_unsorted_rows() -> None:
    # Arrange
    table = pa.table(
        {
            "venue": ["sim"] * 6,
            "symbol": ["A"] * 3 + ["B"] * 3,
            "minute_us": [0, 60, 120, 0, 60, 180],
            "open": [1.0, 2.0, 4.0, 10.0, 11.0, 22.0],
        }
    )

    # Act
    labels = labels_of_table(table, horizon=1, round_trip_cost=0.0, kind="regression")

    # Assert
    np.testing.assert_array_equal(labels, [1.0, np.nan, np.nan, 1.0, np.nan, np.nan])
    with pytest.raises(ValueError, match="sorted"):
        labels_of_table(table.take([1, 0, 2, 3, 4, 5]), horizon=1, round_trip_cost=0.0, kind="regression")


@pytest.mark.parametrize(
    ("horizon", "cost", "kind", "message"),
    [(0, 0.0, "regression", "horizon"), (1, -0.1, "regression", "cost"), (1, 0.0, "ranking", "kind")],
)
def test_a_bad_horizon_cost_or_kind_is_refused(horizon: int, cost: float, kind: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_labels(OPENS, horizon=horizon, round_trip_cost=cost, kind=kind)  # type: ignore[arg-type]
