"""Tick columns from ClickHouse's NumPy results: one (venue, symbol)'s rows put in trade order."""

from __future__ import annotations

import numpy as np
import pytest

from resources.tick_store.clickhouse_columns import symbol_table
from trading_assets.core.ticks import TICK_SCHEMA


def numeric(trade_ids: list[int], times: list[int]) -> list[np.ndarray]:
    """The numeric columns of a per-pair query (trade_id, price, quantity, side, three times)."""
    ids = np.array(trade_ids, np.int64)
    time_us = np.array(times, np.int64)
    return [ids, ids * 1.5, np.ones(len(ids)), np.ones(len(ids), np.int8), time_us, time_us + 1, time_us + 2]


@pytest.mark.parametrize(
    "trade_ids, times, expected_ids",
    [
        pytest.param([1, 2, 3], [10, 20, 30], [1, 2, 3], id="in-order"),
        pytest.param(
            [4, 5, 6, 1, 2, 3], [40, 50, 60, 10, 20, 30], [1, 2, 3, 4, 5, 6], id="runs-of-two-parts"
        ),
        pytest.param([2, 3, 1], [10, 30, 20], [2, 1, 3], id="ids-not-following-time"),
        pytest.param([-5, -9, -1], [30, 10, 20], [-9, -1, -5], id="content-keys"),
        pytest.param([3, 2, 1], [10, 10, 10], [1, 2, 3], id="equal-times-by-id"),
    ],
)
def test_rows_come_out_ordered_by_trade_time_then_id(
    trade_ids: list[int], times: list[int], expected_ids: list[int]
) -> None:
    table = symbol_table("binance", "BTCUSDT", numeric(trade_ids, times), TICK_SCHEMA)

    assert table.column("trade_id").to_pylist() == expected_ids
    assert table.column("price").to_pylist() == [i * 1.5 for i in expected_ids]  # rows moved whole
    assert table.column("trade_time_us").to_pylist() == sorted(times)
    assert set(table.column("symbol").to_pylist()) == {"BTCUSDT"}
