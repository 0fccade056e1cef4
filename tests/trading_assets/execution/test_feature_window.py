"""FeatureWindow.add_bars: a poll's bars (several per symbol, warm-up included) added at once give, bit for
bit, the feature rows of adding them one by one, and keep the same bars."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from testkit.synthetic_bars import synthetic_bars
from trading_assets.execution.feature_window import BAR_NUMERIC_COLUMNS, FeatureWindow
from trading_assets.models.features import WARMUP_BARS


def polls_of(bars: pa.Table, minutes_per_poll: int) -> list[pa.Table]:
    """The bars cut into polls of ``minutes_per_poll`` minutes, each ordered by (venue, symbol, minute)."""
    minutes = bars.column("minute_us").to_numpy()
    poll = (minutes - minutes.min()) // (60_000_000 * minutes_per_poll)
    return [
        bars.filter(pa.array(poll == p)).sort_by(
            [("venue", "ascending"), ("symbol", "ascending"), ("minute_us", "ascending")]
        )
        for p in np.unique(poll)
    ]


@pytest.mark.parametrize("minutes_per_poll", [1, 3, 70])
def test_bars_added_at_once_give_the_rows_of_adding_them_one_by_one(minutes_per_poll: int) -> None:
    # Arrange: five symbols from their first bar (warm-up windows of every length), one not featured.
    bars = synthetic_bars(minutes=200, seed=4)
    featured = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"}
    at_once, one_by_one = FeatureWindow(), FeatureWindow()

    for poll in polls_of(bars, minutes_per_poll):
        keys = list(zip(poll.column("venue").to_pylist(), poll.column("symbol").to_pylist(), strict=True))
        columns = {name: poll.column(name).to_numpy() for name in BAR_NUMERIC_COLUMNS}

        # Act
        rows, features = at_once.add_bars(keys, columns, featured)

        # Assert
        expected = []
        for row, (venue, symbol) in enumerate(keys):
            one_by_one.add_row(venue, symbol, {name: values[row] for name, values in columns.items()})
            latest = one_by_one.latest(venue, symbol)
            if symbol in featured and latest is not None:
                expected.append((row, latest[1]))
        assert rows == [row for row, _ in expected]
        np.testing.assert_array_equal(
            features.view(np.int64), np.array([r for _, r in expected]).reshape(features.shape).view(np.int64)
        )
    keys = zip(bars["venue"].to_pylist(), bars["symbol"].to_pylist(), strict=True)
    for venue, symbol in set(keys):
        assert at_once.bars(venue, symbol).equals(one_by_one.bars(venue, symbol))
        assert at_once.bars(venue, symbol).num_rows == WARMUP_BARS


def test_bars_of_a_symbol_out_of_order_within_a_poll_are_refused() -> None:
    bars = synthetic_bars(minutes=10, seed=1).slice(0, 3)
    columns = {name: bars.column(name).to_numpy()[::-1].copy() for name in BAR_NUMERIC_COLUMNS}
    keys = [(bars["venue"][0].as_py(), bars["symbol"][0].as_py())] * 3

    with pytest.raises(ValueError, match="not in ascending minutes"):
        FeatureWindow().add_bars(keys, columns, ())


def test_a_bar_not_after_a_full_window_is_refused_and_the_window_kept() -> None:
    # Arrange
    bars = synthetic_bars(minutes=WARMUP_BARS + 5, seed=2).slice(0, WARMUP_BARS + 1)
    key = (bars["venue"][0].as_py(), bars["symbol"][0].as_py())
    window = FeatureWindow()
    full = bars.slice(0, WARMUP_BARS)
    window.add(full)
    older = {
        name: bars.column(name).to_numpy()[WARMUP_BARS - 1 : WARMUP_BARS] for name in BAR_NUMERIC_COLUMNS
    }

    # Act / Assert
    with pytest.raises(ValueError, match="not after the last kept"):
        window.add_bars([key], older, ())
    assert window.bars(*key).equals(full)
