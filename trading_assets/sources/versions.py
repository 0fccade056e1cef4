"""Revised values kept as versions, and "the latest value as of time t" over them.

A source that re-issues values (a load forecast for tomorrow 14:00 is published in the morning and again
at noon) stores every issue as its own row: the key includes the :attr:`RecordSchema.version_column`, the
time a value was published. A model trained or run "as of" a time must see, for each series and time, the
newest value published at or before that time, never one published later: :func:`latest_as_of`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.sources.base import SourceSpec


def _boundaries(ordered: pa.Table, columns: list[str]) -> np.ndarray:
    """For each row of ``ordered``, True when it is the last row of its run of equal ``columns``."""
    rows = ordered.num_rows
    last = np.ones(rows, dtype=bool)
    if rows < 2:
        return last
    same = np.ones(rows - 1, dtype=bool)
    for column in columns:
        values = ordered.column(column).combine_chunks()
        same &= pc.equal(values.slice(0, rows - 1), values.slice(1)).to_numpy(zero_copy_only=False)
    last[:-1] = ~same
    return last


def _group_columns(spec: SourceSpec) -> list[str]:
    records = spec.records
    return [*records.series, records.time_column]


def latest_as_of(spec: SourceSpec, rows: pa.Table, as_of_us: int) -> pa.Table:
    """For each series and time of ``rows``, the row of the newest version published at or before
    ``as_of_us``, in series and time order.

    A version published after ``as_of_us`` is never returned (a forecast published later is not seen,
    even when no earlier version exists: then the period is absent). Versions published at the same time
    (two messages) are ordered by the rest of the key and the last is taken, so the answer is deterministic.
    Sources without a version column never revise: their rows come back in series and time order.
    """
    records = spec.records
    group = _group_columns(spec)
    version = records.version_column
    if version is None:
        return rows.sort_by([(column, "ascending") for column in group])
    seen = rows.filter(pc.less_equal(rows.column(version), pa.scalar(int(as_of_us), pa.int64())))
    rest = [column for column in records.key if column not in (*group, version)]
    ordered = seen.sort_by([(column, "ascending") for column in (*group, version, *rest)])
    return ordered.filter(pa.array(_boundaries(ordered, group)))


def versions_of(spec: SourceSpec, rows: pa.Table, *, series: Mapping[str, object], time_us: int) -> pa.Table:
    """Every version of one series' value for one time, oldest publication first.

    ``series`` gives a value for each series column of the spec (``ValueError`` naming a missing or
    unknown one).
    """
    records = spec.records
    wanted, given = set(records.series), set(series)
    if wanted != given:
        raise ValueError(
            f"source {spec.name}: series needs exactly the columns {sorted(wanted)}, got {sorted(given)}"
        )
    mask = pc.equal(rows.column(records.time_column), pa.scalar(int(time_us), pa.int64()))
    for column, value in series.items():
        mask = pc.and_(mask, pc.equal(rows.column(column), pa.scalar(value, rows.schema.field(column).type)))
    chosen = rows.filter(mask)
    order = [records.version_column] if records.version_column is not None else []
    order += [column for column in records.key if column not in order]
    return chosen.sort_by([(column, "ascending") for column in order])
