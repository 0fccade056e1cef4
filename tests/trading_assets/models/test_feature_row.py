"""latest_feature_row: bit for bit the last row of compute_features, over many seeded windows (warm-up
rows with NaN, flat windows, gaps, only buyers, zero volume included), and part of the code digest."""

from __future__ import annotations

import inspect

import numpy as np
import pyarrow as pa
import pytest

from testkit.synthetic_bars import synthetic_bars
from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.models import feature_row as feature_row_module
from trading_assets.models.feature_row import latest_feature_row, latest_feature_rows
from trading_assets.models.features import FEATURE_COLUMNS, WARMUP_BARS, compute_features, feature_code_digest

NUMERIC = tuple(name for name in BARS_SCHEMA.names if name not in ("venue", "symbol"))


def assert_same_bits(actual: np.ndarray, expected: np.ndarray, where: str) -> None:
    """Equal as IEEE doubles: NaN exactly where expected has NaN, every other value with the same bits
    (so 0.0 and -0.0 differ)."""
    assert actual.dtype == np.float64 and actual.shape == expected.shape, where
    nan = np.isnan(expected)
    assert (np.isnan(actual) == nan).all(), (
        f"{where}: NaN in {np.array(FEATURE_COLUMNS)[np.isnan(actual) != nan]}"
    )
    differ = (actual.view(np.int64) != expected.view(np.int64)) & ~nan
    assert not differ.any(), (
        f"{where}: {dict(zip(np.array(FEATURE_COLUMNS)[differ], actual[differ], strict=True))}"
    )


def windows_of(bars: pa.Table, rows: int) -> list[tuple[str, int, dict[str, np.ndarray], np.ndarray]]:
    """Every bar of ``bars`` with its window of at most ``rows`` bars (the bar and those before it, of its
    symbol) and its row of compute_features over the FULL history."""
    full = compute_features(bars)
    out = []
    symbols = bars.column("symbol").to_numpy(zero_copy_only=False)
    expected = np.column_stack([full.column(name).to_numpy() for name in FEATURE_COLUMNS])
    columns = {name: bars.column(name).to_numpy() for name in NUMERIC}
    for symbol in np.unique(symbols):
        rows_of = np.flatnonzero(symbols == symbol)
        for at, row in enumerate(rows_of):
            kept = rows_of[max(0, at - rows + 1) : at + 1]
            window = {name: values[kept] for name, values in columns.items()}
            out.append((str(symbol), int(columns["minute_us"][row]), window, expected[row]))
    return out


@pytest.mark.parametrize("seed", range(12))
def test_the_latest_row_equals_the_full_history_row_bit_for_bit(seed: int) -> None:
    # Arrange: 500 minutes of five symbols (gaps, an outage, flat bars from minute 200 in the longer seeds).
    bars = synthetic_bars(minutes=500 if seed % 2 else 450, seed=seed)
    cases = windows_of(bars, WARMUP_BARS)

    # Act / Assert
    warm_up = complete = 0
    for symbol, minute_us, window, expected in cases:
        assert_same_bits(latest_feature_row(window), expected, f"seed {seed} {symbol} {minute_us}")
        warm_up += int(np.isnan(expected).any())
        complete += int(not np.isnan(expected).any())
    assert warm_up >= 5 * (WARMUP_BARS - 1) and complete > len(cases) // 2


def test_the_latest_row_of_a_longer_window_and_of_one_bar_equal_compute_features() -> None:
    # Arrange
    bars = synthetic_bars(minutes=300, seed=99).slice(0, 200)  # one symbol, 200 bars

    # Act / Assert: more bars than the warm-up give the same last row; a single bar only the time of day.
    for rows in (1, 2, WARMUP_BARS - 1, WARMUP_BARS, WARMUP_BARS + 1, 200):
        window = bars.slice(200 - rows, rows)
        expected = compute_features(window)
        assert_same_bits(
            latest_feature_row({name: window.column(name).to_numpy() for name in NUMERIC}),
            np.array([expected.column(name)[rows - 1].as_py() for name in FEATURE_COLUMNS]),
            f"{rows} rows",
        )


def test_zero_volume_flat_and_one_sided_windows_give_compute_features_values() -> None:
    # Arrange: bars of zero-quantity trades (no volume, no VWAP), identical bars (flat z-score windows)
    # and only sellers, each long enough to fill every window.
    bars = synthetic_bars(minutes=WARMUP_BARS * 3, seed=5).slice(0, WARMUP_BARS * 3)
    n = bars.num_rows
    volume = bars.column("volume").to_numpy().copy()
    buy = bars.column("buy_volume").to_numpy().copy()
    sell = bars.column("sell_volume").to_numpy().copy()
    quote = bars.column("quote_volume").to_numpy().copy()
    trades = bars.column("trades").to_numpy().copy()
    volume[:WARMUP_BARS] = buy[:WARMUP_BARS] = sell[:WARMUP_BARS] = quote[:WARMUP_BARS] = 0.0
    volume[WARMUP_BARS : 2 * WARMUP_BARS] = volume[WARMUP_BARS]
    trades[WARMUP_BARS : 2 * WARMUP_BARS] = 7
    buy[2 * WARMUP_BARS :] = 0.0
    changed = {
        "volume": volume,
        "buy_volume": buy,
        "sell_volume": sell,
        "quote_volume": quote,
        "trades": trades,
    }
    columns = [changed.get(name, bars.column(name)) for name in BARS_SCHEMA.names]
    bars = pa.Table.from_arrays(
        [pa.array(c) if isinstance(c, np.ndarray) else c for c in columns], schema=BARS_SCHEMA
    )

    # Act / Assert
    for symbol, minute_us, window, expected in windows_of(bars, WARMUP_BARS):
        assert_same_bits(latest_feature_row(window), expected, f"{symbol} {minute_us}")
    assert n == WARMUP_BARS * 3


@pytest.mark.parametrize("seed", [0, 7])
def test_many_windows_at_once_equal_the_full_history_rows_bit_for_bit(seed: int) -> None:
    # Arrange: every bar's window, grouped by length (the warm-up ones shorter), stacked.
    cases = windows_of(synthetic_bars(minutes=300, seed=seed), WARMUP_BARS)
    by_length: dict[int, list[tuple[dict[str, np.ndarray], np.ndarray]]] = {}
    for _symbol, _minute_us, window, expected in cases:
        by_length.setdefault(len(window["minute_us"]), []).append((window, expected))

    # Act
    results = {
        length: latest_feature_rows({name: np.stack([w[name] for w, _ in group]) for name in NUMERIC})
        for length, group in by_length.items()
    }

    # Assert
    for length, group in by_length.items():
        assert results[length].shape == (len(group), len(FEATURE_COLUMNS))
        for i, (_, expected) in enumerate(group):
            assert_same_bits(results[length][i], expected, f"seed {seed}, {length} bars, window {i}")
    assert len(by_length[WARMUP_BARS]) > 100


def test_windows_of_every_length_padded_together_equal_the_full_history_rows_bit_for_bit() -> None:
    # Arrange: every bar's window (warm-up ones shorter), padded in front to WARMUP_BARS with NaN (0 in the
    # integer columns), all in one call.
    cases = windows_of(synthetic_bars(minutes=200, seed=3), WARMUP_BARS)
    lengths = np.array([len(window["minute_us"]) for _, _, window, _ in cases])

    def padded(values: np.ndarray) -> np.ndarray:
        fill = np.nan if values.dtype.kind == "f" else 0
        return np.concatenate((np.full(WARMUP_BARS - len(values), fill, dtype=values.dtype), values))

    stacked = {name: np.stack([padded(window[name]) for _, _, window, _ in cases]) for name in NUMERIC}

    # Act
    rows = latest_feature_rows(stacked, lengths)

    # Assert
    for i, (symbol, minute_us, _, expected) in enumerate(cases):
        assert_same_bits(rows[i], expected, f"{symbol} {minute_us}, {lengths[i]} bars")
    assert lengths.min() == 1 and (lengths == WARMUP_BARS).sum() > 100


def test_no_bars_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        latest_feature_row({name: np.empty(0) for name in NUMERIC})


def test_the_code_digest_covers_the_latest_row_code(monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrange
    digest = feature_code_digest()
    real_getsource = inspect.getsource

    def edited(module: object) -> str:
        source = real_getsource(module)  # type: ignore[arg-type]
        return source + "\n# edited\n" if module is feature_row_module else source

    # Act
    monkeypatch.setattr(inspect, "getsource", edited)
    after_edit = feature_code_digest()

    # Assert
    assert after_edit != digest
