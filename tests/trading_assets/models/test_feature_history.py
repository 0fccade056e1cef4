"""History for a day's features: WARMUP_BARS - 1 earlier bars per symbol reproduce the full-history
features of the day exactly; with less history rows are NaN where a window is short, never different."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from testkit.synthetic_bars import START_US, synthetic_bars
from trading_assets.core.time import US_PER_DAY
from trading_assets.models.features import (
    FEATURE_COLUMNS,
    WARMUP_BARS,
    compute_features,
    features_between,
    last_bars,
)

DAY_START = START_US + US_PER_DAY
DAY_END = DAY_START + US_PER_DAY


def day_of(table: pa.Table) -> pa.Table:
    minute_us = table.column("minute_us")
    return table.filter(pc.and_(pc.greater_equal(minute_us, DAY_START), pc.less(minute_us, DAY_END)))


def test_a_day_with_the_warmup_bars_before_it_equals_the_full_history_features_of_that_day() -> None:
    # Arrange: three days; the second day's partition gets only the bars it needs from the first.
    bars = synthetic_bars(minutes=3 * 1440, seed=4)
    history = last_bars(bars, WARMUP_BARS - 1, before_us=DAY_START)
    day_bars = day_of(bars)

    # Act
    features = features_between(pa.concat_tables([history, day_bars]), DAY_START, DAY_END)

    # Assert
    full = day_of(compute_features(bars))
    assert history.num_rows == 5 * (WARMUP_BARS - 1)
    assert features.num_rows == day_bars.num_rows == full.num_rows
    for name in ("venue", "symbol", "minute_us", *FEATURE_COLUMNS):
        np.testing.assert_array_equal(
            features.column(name).to_numpy(zero_copy_only=False),
            full.column(name).to_numpy(zero_copy_only=False),
        )


def test_with_too_little_history_a_feature_is_nan_where_its_window_is_short_and_exact_elsewhere() -> None:
    # Arrange: 20 bars of history instead of 60.
    bars = synthetic_bars(minutes=2 * 1440 + 200, seed=6)
    history = last_bars(bars, 20, before_us=DAY_START)

    # Act
    features = features_between(pa.concat_tables([history, day_of(bars)]), DAY_START, DAY_END)

    # Assert
    full = day_of(compute_features(bars))
    assert full.num_rows == features.num_rows
    for name in FEATURE_COLUMNS:
        short, complete = features.column(name).to_numpy(), full.column(name).to_numpy()
        known = ~np.isnan(short)
        np.testing.assert_array_equal(short[known], complete[known])
        assert np.isnan(short[np.isnan(complete)]).all()
    assert np.isnan(features.column("ret_60").to_numpy()).sum() == 5 * (60 - 20)


def test_last_bars_keeps_the_last_rows_of_each_symbol_in_key_order() -> None:
    bars = synthetic_bars(minutes=300, seed=2)
    kept = last_bars(bars.take(pa.array(np.random.default_rng(1).permutation(bars.num_rows))), 7)
    assert kept.num_rows == 35
    for symbol in set(bars.column("symbol").to_pylist()):
        own = bars.filter(pc.equal(bars.column("symbol"), symbol)).column("minute_us").to_pylist()
        assert (
            kept.filter(pc.equal(kept.column("symbol"), symbol)).column("minute_us").to_pylist() == own[-7:]
        )
    assert last_bars(bars, 0).num_rows == 0
