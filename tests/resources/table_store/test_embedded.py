"""What only the embedded table store does: its folder layout and leftovers of crashed writers."""

from __future__ import annotations

from pathlib import Path

from resources.table_store import TablePartition
from resources.table_store.embedded import EmbeddedTableStore
from tests.resources.table_store.helpers import DAY1, SIGNALS, in_key_order, rows
from trading_assets.core.time import US_PER_DAY, day_start_us


def test_each_table_day_is_one_parquet_file_and_no_temp_file_stays(tmp_path: Path) -> None:
    store = EmbeddedTableStore(tmp_path)

    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=3))
    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=2))

    day_dir = tmp_path / "signals" / "day=2024-03-01"
    assert sorted(p.name for p in day_dir.iterdir()) == ["part.parquet"]


def test_a_crashed_writers_temp_file_is_never_read_and_the_next_write_works(tmp_path: Path) -> None:
    store = EmbeddedTableStore(tmp_path)
    kept = rows(DAY1, count=2)
    store.write_partition(SIGNALS, DAY1, kept)
    (tmp_path / "signals" / "day=2024-03-01" / ".part-dead.tmp").write_bytes(b"half a parquet file")

    got = store.read(SIGNALS, start_us=day_start_us(DAY1), end_us=day_start_us(DAY1) + US_PER_DAY)
    listed = store.days(SIGNALS)
    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=1))

    assert got.to_pylist() == in_key_order(kept)
    assert listed == [TablePartition(day=DAY1, rows=8)]
    assert store.days(SIGNALS) == [TablePartition(day=DAY1, rows=4)]
