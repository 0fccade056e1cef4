"""A source's table in the table store, and merging delivered records into its stored days.

Every source lands in its own table ``src_<name>`` with the source's own schema, partitioned by the UTC
day of its time column and keyed by its record key (so a revised value, whose key includes its publish
time, is a row of its own). Delivery on the bus is at least once; :func:`merge_day` keeps one row per
key, so a batch delivered twice is stored once, and the stored day is replaced atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from resources.sources.base import SourceSpec
from resources.table_store.spec import TableSpec
from trading_assets.core.time import US_PER_DAY, day_from_number

TABLE_PREFIX = "src_"


def source_table(spec: SourceSpec) -> TableSpec:
    """The table that stores ``spec``'s records: ``src_<name>``, its schema, time column and key.

    The storage order is series, then time, then the rest of the key, so a day reads out series by series
    in time order.
    """
    records = spec.records
    order = [*records.series, records.time_column]
    order += [column for column in records.key if column not in order]
    return TableSpec(
        name=f"{TABLE_PREFIX}{spec.name}",
        schema=records.schema,
        time_column=records.time_column,
        key=tuple(order),
    )


def split_by_day(table: TableSpec, rows: pa.Table) -> Iterator[tuple[dt.date, pa.Table]]:
    """``rows`` grouped by the UTC day of the table's time column, oldest day first."""
    if rows.num_rows == 0:
        return
    # Floor division, so times before 1970 still fall in their own day.
    day_numbers = np.asarray(rows.column(table.time_column).to_numpy(), dtype=np.int64) // US_PER_DAY
    for number in np.unique(day_numbers):
        yield day_from_number(int(number)), rows.filter(pa.array(day_numbers == number))


def unique_by_key(table: TableSpec, rows: pa.Table) -> pa.Table:
    """``rows`` with one row per key (the first delivered wins: a repeat carries the same values)."""
    if rows.num_rows == 0:
        return rows
    indexed = rows.append_column("__row", pa.array(np.arange(rows.num_rows, dtype=np.int64)))
    firsts = indexed.group_by(list(table.key), use_threads=False).aggregate([("__row", "min")])
    keep = np.sort(firsts.column("__row_min").to_numpy())
    return rows.take(pa.array(keep))


def merge_day(table: TableSpec, stored: pa.Table, delivered: pa.Table) -> tuple[pa.Table, int]:
    """The day's rows after ``delivered`` joins ``stored``: one row per key, and how many were new.

    A delivered row whose key is already stored is a repeat (at-least-once delivery) and is dropped.
    """
    conformed = table.conform(delivered)
    if stored.num_rows == 0:
        merged = unique_by_key(table, conformed)
        return merged, merged.num_rows
    merged = unique_by_key(table, pa.concat_tables([table.conform(stored), conformed]))
    return merged, merged.num_rows - stored.num_rows
