"""The archive file layout: rows in archive order whether or not the input already was."""

from __future__ import annotations

import pyarrow as pa
import pytest

from resources.archive.layout import WriterSettings, encode, in_sort_order, to_parquet_bytes
from tests.resources.archive.conftest import DAY1, archive_order, sim_day
from tests.resources.tick_store.helpers import table, tick


def test_a_day_in_exchange_order_and_the_same_day_in_archive_order_encode_alike() -> None:
    ticks = sim_day(DAY1, 5_000)
    ordered = archive_order(ticks)

    assert not in_sort_order(ticks.combine_chunks())
    assert in_sort_order(ordered.combine_chunks())
    assert encode(ticks).equals(encode(ordered))
    assert to_parquet_bytes(ticks, WriterSettings()) == to_parquet_bytes(ordered, WriterSettings())


@pytest.mark.parametrize(
    "rows, ordered",
    [
        pytest.param([tick(1), tick(2), tick(3)], True, id="ascending"),
        pytest.param([tick(2, offset_s=1), tick(1, offset_s=1)], False, id="same-time-ids-descending"),
        pytest.param([tick(1, offset_s=1), tick(2, offset_s=1)], True, id="same-time-ids-ascending"),
        pytest.param([tick(2), tick(1, symbol="ETHUSDT")], True, id="symbols-ascending-times-not"),
        pytest.param([tick(1, symbol="ETHUSDT"), tick(2)], False, id="symbols-descending"),
        pytest.param([tick(1, venue="sim"), tick(2, venue="binance")], False, id="venues-descending"),
        pytest.param([tick(1, symbol="Zed"), tick(2, symbol="abc")], True, id="byte-order-upper-first"),
        pytest.param([tick(1, symbol="abc"), tick(2, symbol="Zed")], False, id="byte-order-lower-after"),
        pytest.param([tick(1, symbol="é"), tick(2, symbol="z")], False, id="utf8-above-ascii"),
    ],
)
def test_in_sort_order_follows_venue_symbol_time_id_in_byte_order(rows: list, ordered: bool) -> None:
    ticks = table(rows)

    assert in_sort_order(ticks) is ordered
    assert encode(ticks).column("symbol").to_pylist() == archive_order(ticks).column("symbol").to_pylist()
    assert encode(ticks).column("trade_id").equals(archive_order(ticks).column("trade_id"))


def test_an_empty_or_one_row_table_is_in_order() -> None:
    assert in_sort_order(table([]))
    assert in_sort_order(table([tick(1)]))
    assert encode(table([])).num_rows == 0 and isinstance(encode(table([tick(1)])), pa.Table)
