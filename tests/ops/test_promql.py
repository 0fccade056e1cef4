"""The splitter that finds the series under an alert's condition (tests/ops/promql.py)."""

from __future__ import annotations

import pytest

from tests.ops.promql import underlying


@pytest.mark.parametrize(
    ("expr", "series"),
    [
        ("up == 0", ["up"]),
        ("rate(x_total[5m]) > 0.5", ["rate(x_total[5m])"]),
        (
            "tradegraph_executor_trading_state == 2 or tradegraph_executor_halt_latched == 1",
            ["tradegraph_executor_trading_state", "tradegraph_executor_halt_latched"],
        ),
        ("time() - hb_seconds > 120", ["time() - hb_seconds"]),
        ("a / clamp_min(b, 1) > 0.01", ["a / clamp_min(b, 1)"]),
        ("drawdown > 0.8 * threshold", ["drawdown", "0.8 * threshold"]),
        (
            "(time() - last > 900) and on (job, source) (sum by (job, source) (increase(f[15m])) > 0)",
            ["time() - last", "sum by (job, source) (increase(f[15m]))"],
        ),
        ('process_rss{job!="prometheus"} >= 1e9', ['process_rss{job!="prometheus"}']),
        ('x{name=~"a|b"} unless ignoring (kind) y', ['x{name=~"a|b"}', "y"]),
        ("up == bool 0", ["up"]),
        ("random_and_or_metric > 1", ["random_and_or_metric"]),
    ],
)
def test_underlying_returns_the_series_a_condition_compares(expr: str, series: list[str]) -> None:
    assert [s.strip() for s in underlying(expr)] == series
