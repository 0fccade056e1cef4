"""day_coverage: a day is complete when no stretch of it, edges included, lacks trades for too long."""

import datetime as dt

import numpy as np
import pyarrow as pa

from trading_assets.core.time import US_PER_MINUTE, day_bounds_us
from trading_assets.market.chart_md import MAX_CHARS, bars_sparklines_md, sparkline
from trading_assets.market.completeness import MAX_SILENCE_US, day_coverage

DAY = dt.date(2024, 6, 3)
START, END = day_bounds_us(DAY)


def _ticks(times_us: list[int]) -> pa.Table:
    return pa.table({"trade_time_us": pa.array(times_us, pa.int64())})


def _every(minutes: int, *, start: int = START, end: int = END) -> list[int]:
    return list(range(start, end, minutes * US_PER_MINUTE))


def test_trades_every_few_minutes_from_midnight_to_midnight_cover_the_day() -> None:
    coverage = day_coverage(_ticks(_every(5)), DAY)

    assert coverage.passed
    assert coverage.covered_fraction == 1.0
    assert coverage.head_silence_us == 0
    assert coverage.tail_silence_us == 5 * US_PER_MINUTE


def test_a_day_whose_trades_stop_at_23_28_is_incomplete() -> None:
    stop = START + (23 * 60 + 28) * US_PER_MINUTE
    coverage = day_coverage(_ticks(_every(1, end=stop)), DAY)

    assert not coverage.passed
    assert coverage.tail_silence_us > MAX_SILENCE_US
    assert 0.97 < coverage.covered_fraction < 0.98


def test_an_hour_lost_in_the_middle_is_found_with_its_start() -> None:
    noon = START + 12 * 60 * US_PER_MINUTE
    times = [t for t in _every(1) if not noon < t < noon + 60 * US_PER_MINUTE]

    coverage = day_coverage(_ticks(times), DAY)

    assert not coverage.passed
    assert coverage.longest_inner_silence_us == 60 * US_PER_MINUTE
    assert coverage.longest_inner_silence_start_us == noon


def test_a_day_without_trades_is_not_covered_and_trades_of_other_days_do_not_count() -> None:
    coverage = day_coverage(_ticks([START - 1, END]), DAY)

    assert not coverage.passed
    assert coverage.covered_fraction == 0.0


def test_sparklines_scale_each_series_to_its_own_range() -> None:
    assert sparkline(np.array([1.0, 2.0, 3.0, np.nan, 8.0])) == "▁▂▃ █"
    assert sparkline(np.array([5.0, 5.0])) == "▁▁"


def test_the_bars_chart_stays_short_enough_to_show_inline_with_many_symbols() -> None:
    symbols = [f"SYM{i:03d}USDT" for i in range(40)]
    minutes = [START + m * US_PER_MINUTE for m in range(0, 24 * 60, 30)]
    n = len(minutes)
    bars = pa.table(
        {
            "venue": ["sim"] * n * len(symbols),
            "symbol": [s for s in symbols for _ in minutes],
            "minute_us": minutes * len(symbols),
            "close": [float(i % 17 + 1) for i in range(n * len(symbols))],
            "quote_volume": [float(i % 5) for i in range(n * len(symbols))],
        }
    )

    chart = bars_sparklines_md(bars, day_start_us=START)

    assert len(chart) <= MAX_CHARS
    assert "| SYM000USDT |" in chart
    assert "more symbols" in chart
