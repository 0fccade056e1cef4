"""Features: no lookahead (proved by cutting the bars, and a planted leak that the same check catches),
values recomputed independently with plain Python, the table shape, and the code digest."""

from __future__ import annotations

import inspect
import math
import statistics

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from testkit.synthetic_bars import synthetic_bars
from tests.trading_assets.models.lookahead import lookahead_differences, time_ordered
from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.core.time import US_PER_MINUTE
from trading_assets.models import features as features_module
from trading_assets.models.features import (
    FEATURE_COLUMNS,
    FEATURES_TABLE,
    WARMUP_BARS,
    compute_features,
    feature_code_digest,
)

TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def bars() -> pa.Table:
    """Five symbols over 1,000 minutes, with missing minutes, a 90-minute outage per symbol and flat bars."""
    return time_ordered(synthetic_bars(minutes=1_000, seed=7))


def cut_points(bars: pa.Table, seed: int) -> list[int]:
    """60 random rows, plus rows inside the warm-up (where NaN must match NaN) and the last row."""
    rng = np.random.default_rng(seed)
    random_cuts = rng.choice(bars.num_rows, size=60, replace=False).tolist()
    return sorted({*random_cuts, 0, 3, 5 * WARMUP_BARS - 1, 5 * WARMUP_BARS, bars.num_rows - 1})


def test_features_of_a_bar_do_not_change_when_later_bars_are_cut_off_or_only_the_warmup_is_kept(
    bars: pa.Table,
) -> None:
    # Arrange
    cuts = cut_points(bars, seed=1)
    assert len(cuts) >= 50

    # Act
    differences = lookahead_differences(
        compute_features, bars, cuts=cuts, warmup=WARMUP_BARS, tolerance=TOLERANCE
    )

    # Assert
    assert differences == []


def peeks_one_bar_ahead(bars: pa.Table) -> pa.Table:
    """The real features plus a planted leak: each row also gets its symbol's next close."""
    table = compute_features(bars)
    close = table.column("close").to_numpy()
    symbol = table.column("symbol").to_numpy(zero_copy_only=False)
    next_close = np.full(table.num_rows, np.nan)
    same = symbol[1:] == symbol[:-1]
    next_close[:-1][same] = close[1:][same]
    return table.append_column("next_close", pa.array(next_close))


def normalises_by_the_whole_history(bars: pa.Table) -> pa.Table:
    """A subtler planted leak: the close relative to the mean close of its symbol's whole history."""
    table = compute_features(bars)
    close = table.column("close").to_numpy()
    symbol = table.column("symbol").to_numpy(zero_copy_only=False)
    relative = np.empty(table.num_rows)
    for name in np.unique(symbol):
        rows = symbol == name
        relative[rows] = close[rows] / close[rows].mean()
    return table.append_column("close_vs_history", pa.array(relative))


@pytest.mark.parametrize(
    ("leaky", "column"),
    [(peeks_one_bar_ahead, "next_close"), (normalises_by_the_whole_history, "close_vs_history")],
)
def test_the_lookahead_check_catches_a_planted_feature_that_sees_the_future(
    bars: pa.Table, leaky: object, column: str
) -> None:
    # Act
    differences = lookahead_differences(
        leaky,  # type: ignore[arg-type]
        bars,
        cuts=cut_points(bars, seed=2),
        warmup=WARMUP_BARS,
        tolerance=TOLERANCE,
    )

    # Assert: caught, and only in the planted column.
    assert differences
    assert all(f": {column} of " in difference for difference in differences)


def reference_features(bars: pa.Table) -> dict[tuple[str, str, int], dict[str, float]]:
    """The features recomputed row by row with plain Python, from their definitions."""
    out: dict[tuple[str, str, int], dict[str, float]] = {}
    rows = bars.sort_by([("venue", "ascending"), ("symbol", "ascending"), ("minute_us", "ascending")])
    by_symbol: dict[tuple[str, str], list[dict[str, object]]] = {}
    for row in rows.to_pylist():
        by_symbol.setdefault((str(row["venue"]), str(row["symbol"])), []).append(row)
    nan = float("nan")
    for series in by_symbol.values():
        for t, row in enumerate(series):

            def col(
                name: str, first: int, last: int = t, series: list[dict[str, object]] = series
            ) -> list[float]:
                return [float(series[k][name]) for k in range(first, last + 1)]  # type: ignore[arg-type]

            c = col("close", 0)
            values: dict[str, float] = {}
            for h in (1, 5, 15, 60):
                values[f"ret_{h}"] = math.log(c[t] / c[t - h]) if t >= h else nan
            for w in (15, 60):
                values[f"rvol_{w}"] = (
                    math.sqrt(sum(math.log(c[k] / c[k - 1]) ** 2 for k in range(t - w + 1, t + 1)))
                    if t >= w
                    else nan
                )
            for w in (1, 15):
                if t >= w - 1:
                    ranges = [
                        math.log(hi / lo)
                        for hi, lo in zip(col("high", t - w + 1), col("low", t - w + 1), strict=True)
                    ]
                    values[f"range_{w}"] = sum(ranges) / w
                else:
                    values[f"range_{w}"] = nan
            for name in ("volume", "trades"):
                if t >= 59:
                    window = col(name, t - 59)
                    spread = statistics.pstdev(window)
                    flat = max(window) == min(window)
                    values[f"{name}_z_60"] = 0.0 if flat else (window[-1] - statistics.fmean(window)) / spread
                else:
                    values[f"{name}_z_60"] = nan
            for w in (1, 15):
                if t >= w - 1:
                    buy, sell = sum(col("buy_volume", t - w + 1)), sum(col("sell_volume", t - w + 1))
                    values[f"ofi_{w}"] = 0.0 if buy + sell == 0 else (buy - sell) / (buy + sell)
                else:
                    values[f"ofi_{w}"] = nan
            for w in (15, 60):
                if t >= w - 1:
                    vwap = sum(col("quote_volume", t - w + 1)) / sum(col("volume", t - w + 1))
                    values[f"vwap_dist_{w}"] = math.log(c[t] / vwap)
                else:
                    values[f"vwap_dist_{w}"] = nan
            minute = int(row["minute_us"])  # type: ignore[call-overload]
            previous = int(series[t - 1]["minute_us"]) if t else None  # type: ignore[call-overload]
            values["gap_minutes"] = (minute - previous) / US_PER_MINUTE if previous is not None else nan
            of_day = (minute // US_PER_MINUTE) % 1440
            values["tod_sin"] = math.sin(2 * math.pi * of_day / 1440)
            values["tod_cos"] = math.cos(2 * math.pi * of_day / 1440)
            out[(str(row["venue"]), str(row["symbol"]), minute)] = values
    return out


def test_every_feature_matches_a_plain_python_recomputation_from_its_definition() -> None:
    # Arrange: two symbols (one with many missing minutes), including the flat stretch of bars.
    bars = synthetic_bars(minutes=450, seed=11).filter(
        pc.is_in(pc.field("symbol"), pa.array(["ETHUSDT", "DOGEUSDT"]))
    )
    expected = reference_features(bars)

    # Act
    table = compute_features(bars)

    # Assert
    assert table.num_rows == bars.num_rows == len(expected)
    assert set(FEATURE_COLUMNS) == set(next(iter(expected.values())))
    for row in table.to_pylist():
        want = expected[(row["venue"], row["symbol"], row["minute_us"])]
        for name in FEATURE_COLUMNS:
            if math.isnan(want[name]):
                assert math.isnan(row[name]), (name, row["symbol"], row["minute_us"])
            else:
                assert row[name] == pytest.approx(want[name], rel=1e-9, abs=1e-12), (name, row["symbol"])


def test_warmup_is_the_longest_window_and_each_feature_is_nan_exactly_until_its_window_fills() -> None:
    # Arrange: one symbol, exactly WARMUP_BARS bars.
    bars = synthetic_bars(minutes=WARMUP_BARS, seed=3).filter(pc.equal(pc.field("symbol"), "BTCUSDT"))
    assert bars.num_rows == WARMUP_BARS

    # Act
    table = compute_features(bars)

    # Assert: the last row is complete, the one before lacks the 60-return features.
    assert WARMUP_BARS == 61
    assert not any(math.isnan(table.column(name)[-1].as_py()) for name in FEATURE_COLUMNS)
    assert {name for name in FEATURE_COLUMNS if math.isnan(table.column(name)[-2].as_py())} == {
        "ret_60",
        "rvol_60",
    }
    assert {name for name in FEATURE_COLUMNS if math.isnan(table.column(name)[0].as_py())} == (
        set(FEATURE_COLUMNS) - {"range_1", "ofi_1", "tod_sin", "tod_cos"}
    )


def assert_same_table(left: pa.Table, right: pa.Table) -> None:
    """Equal column by column, NaN equal to NaN (Arrow's equals treats NaN as unequal)."""
    assert left.column_names == right.column_names
    for name in left.column_names:
        np.testing.assert_array_equal(
            left.column(name).to_numpy(zero_copy_only=False),
            right.column(name).to_numpy(zero_copy_only=False),
        )


def test_the_feature_table_fits_its_table_spec_sorted_by_key_without_nulls() -> None:
    # Arrange: rows shuffled, so the output order comes from the function.
    bars = synthetic_bars(minutes=200, seed=5)
    shuffled = bars.take(pa.array(np.random.default_rng(0).permutation(bars.num_rows)))

    # Act
    table = compute_features(shuffled)

    # Assert
    assert table.schema.equals(FEATURES_TABLE.schema)
    assert FEATURES_TABLE.conform(table) is table
    assert all(table.column(name).null_count == 0 for name in table.column_names)
    assert_same_table(table, FEATURES_TABLE.sort(table))
    assert_same_table(table, compute_features(bars))
    assert table.column_names[:5] == ["venue", "symbol", "minute_us", "open", "close"]
    assert tuple(table.column_names[5:]) == FEATURE_COLUMNS


def test_no_bars_give_an_empty_feature_table_and_a_repeated_bar_is_refused() -> None:
    assert compute_features(BARS_SCHEMA.empty_table()).schema.equals(FEATURES_TABLE.schema)
    bars = synthetic_bars(minutes=5, seed=1)
    with pytest.raises(ValueError, match="more than once"):
        compute_features(pa.concat_tables([bars, bars.slice(2, 1)]))


def test_the_code_digest_is_stable_and_changes_with_the_feature_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrange
    digest = feature_code_digest()
    real_getsource = inspect.getsource

    def edited(module: object) -> str:
        source = real_getsource(module)  # type: ignore[arg-type]
        return source + "\n# edited\n" if module is features_module.windows else source

    # Act
    monkeypatch.setattr(inspect, "getsource", edited)
    after_edit = feature_code_digest()

    # Assert
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert feature_code_digest.__module__ == features_module.__name__
    assert after_edit != digest
    monkeypatch.undo()
    assert feature_code_digest() == digest
