"""What only the embedded table store does: its folder layout and leftovers of crashed writers."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from resources.table_store import TablePartition, TableSpec
from resources.table_store.embedded import LARGE_VALUE_BYTES, EmbeddedTableStore
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


BLOBS = TableSpec(
    name="blobs",
    schema=pa.schema(
        [
            pa.field("time_us", pa.int64(), nullable=False),
            pa.field("label", pa.string(), nullable=False),
            pa.field("payload", pa.string(), nullable=False),
        ]
    ),
    time_column="time_us",
    key=("time_us",),
)


def test_a_column_of_large_strings_is_written_without_statistics_or_dictionary(tmp_path: Path) -> None:
    # Parquet's writer copies every value into the min/max statistics and the dictionary: for the
    # executor's checkpoint (one value of tens of MB) that was several times its size at each write.
    store = EmbeddedTableStore(tmp_path)
    large = "x" * LARGE_VALUE_BYTES
    table = pa.table(
        {
            "time_us": [day_start_us(DAY1), day_start_us(DAY1) + 1],
            "label": ["a", "b"],
            "payload": [large, "small"],
        },
        schema=BLOBS.schema,
    )

    store.write_partition(BLOBS, DAY1, table)

    chunks = pq.ParquetFile(tmp_path / "blobs" / "day=2024-03-01" / "part.parquet").metadata.row_group(0)
    by_name = {chunks.column(i).path_in_schema: chunks.column(i) for i in range(chunks.num_columns)}
    assert not by_name["payload"].is_stats_set
    assert not by_name["payload"].has_dictionary_page
    assert by_name["label"].is_stats_set and by_name["time_us"].is_stats_set
    got = store.read(BLOBS, start_us=day_start_us(DAY1), end_us=day_start_us(DAY1) + US_PER_DAY)
    assert got.column("payload").to_pylist() == [large, "small"]


def test_columns_of_short_strings_keep_their_statistics(tmp_path: Path) -> None:
    store = EmbeddedTableStore(tmp_path)

    store.write_partition(SIGNALS, DAY1, rows(DAY1, count=3))

    chunks = pq.ParquetFile(tmp_path / "signals" / "day=2024-03-01" / "part.parquet").metadata.row_group(0)
    assert all(chunks.column(i).is_stats_set for i in range(chunks.num_columns))
