"""The checks of one stored day of a source: completeness, duplicates and revisions.

Each returns a frozen result with ``passed``, a ``description`` and plain ``metadata`` values, ready to
become a Dagster ``AssetCheckResult`` (:mod:`.assets` does that) and easy to assert on in tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.sources.base import SourceSpec
from trading_assets.core.time import US_PER_DAY, day_start_us

_EXAMPLES = 5
"""Examples listed in a result's description and metadata."""

MetadataValue = int | float | str | bool


def _time_text(time_us: int) -> str:
    return dt.datetime.fromtimestamp(time_us / 1e6, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _series_label(spec: SourceSpec, row: Mapping[str, object]) -> str:
    return "/".join(str(row[column]) for column in spec.records.series) or "(all)"


def _series_groups(spec: SourceSpec, rows: pa.Table) -> dict[str, pa.Table]:
    """``rows`` by series label (one group, ``(all)``, when the source has no series columns)."""
    series = list(spec.records.series)
    if not series:
        return {"(all)": rows} if rows.num_rows else {}
    keys = rows.select(series).group_by(series).aggregate([]).to_pylist()
    groups: dict[str, pa.Table] = {}
    for key in keys:
        mask = None
        for column, value in key.items():
            test = pc.equal(rows.column(column), pa.scalar(value, rows.schema.field(column).type))
            mask = test if mask is None else pc.and_(mask, test)
        groups[_series_label(spec, key)] = rows.filter(mask)
    return dict(sorted(groups.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesCompleteness:
    """How much of one series' day is there."""

    series: str
    """The series (its column values joined by ``/``)."""
    present: int
    """Expected periods that have at least one row."""
    missing: tuple[int, ...]
    """Start times (int64 us) of the expected periods without a row."""
    off_grid: int
    """Distinct times that are not the start of an expected period."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Completeness:
    """Whether every series has every period of the day the source promises (``periods_per_day``)."""

    day: dt.date
    """The day checked."""
    periods_per_day: int | None
    """The source's expectation; None: the source promises none and the check only counts rows."""
    series: tuple[SeriesCompleteness, ...] = field(default=())
    """Per series present in the day, in series order."""

    @property
    def missing_periods(self) -> int:
        """Expected periods without a row, over all series."""
        return sum(len(s.missing) for s in self.series)

    @property
    def passed(self) -> bool:
        """True when some series has rows and none misses a period."""
        return bool(self.series) and self.missing_periods == 0

    @property
    def description(self) -> str:
        if not self.series:
            return f"{self.day}: no rows stored"
        if self.passed:
            return f"{self.day}: every series has all {self.periods_per_day or 'its'} periods"
        worst = sorted(self.series, key=lambda s: -len(s.missing))[:_EXAMPLES]
        listed = "; ".join(
            f"{s.series} misses {len(s.missing)} ({', '.join(_time_text(t)[11:16] for t in s.missing[:4])}"
            f"{', ...' if len(s.missing) > 4 else ''})"
            for s in worst
            if s.missing
        )
        return f"{self.day}: {self.missing_periods} of the expected periods are missing: {listed}"

    @property
    def metadata(self) -> dict[str, MetadataValue]:
        return {
            "periods_per_day": self.periods_per_day or 0,
            "series": len(self.series),
            "missing_periods": self.missing_periods,
            "incomplete_series": sum(1 for s in self.series if s.missing),
            "off_grid_times": sum(s.off_grid for s in self.series),
        }


def check_completeness(spec: SourceSpec, day: dt.date, rows: pa.Table) -> Completeness:
    """The day's completeness per series against ``spec.periods_per_day`` equal periods from midnight UTC.

    Series are those present in ``rows`` (a series with no row at all that day is not known here).
    """
    periods = spec.periods_per_day
    time_column = spec.records.time_column
    start = day_start_us(day)
    results: list[SeriesCompleteness] = []
    for label, group in _series_groups(spec, rows).items():
        times = np.unique(np.asarray(group.column(time_column).to_numpy(), dtype=np.int64))
        if periods is None:
            results.append(SeriesCompleteness(series=label, present=int(times.size), missing=(), off_grid=0))
            continue
        expected = start + np.arange(periods, dtype=np.int64) * (US_PER_DAY // periods)
        missing = np.setdiff1d(expected, times, assume_unique=True)
        off_grid = np.setdiff1d(times, expected, assume_unique=True)
        results.append(
            SeriesCompleteness(
                series=label,
                present=periods - int(missing.size),
                missing=tuple(int(t) for t in missing),
                off_grid=int(off_grid.size),
            )
        )
    return Completeness(day=day, periods_per_day=periods, series=tuple(results))


@dataclass(frozen=True, slots=True, kw_only=True)
class Duplicates:
    """Rows that share a key with another row (after the loader there must be none)."""

    rows: int
    """Rows checked."""
    duplicate_rows: int
    """Rows beyond the first of each key."""
    examples: tuple[str, ...]
    """Up to five duplicated keys, as ``column=value`` lists."""

    @property
    def passed(self) -> bool:
        return self.duplicate_rows == 0

    @property
    def description(self) -> str:
        if self.passed:
            return f"each of the {self.rows} rows has its own key"
        return f"{self.duplicate_rows} rows repeat the key of another row, e.g. {'; '.join(self.examples)}"

    @property
    def metadata(self) -> dict[str, MetadataValue]:
        return {
            "rows": self.rows,
            "duplicate_rows": self.duplicate_rows,
            "examples": "\n".join(self.examples) or "-",
        }


def check_duplicates(spec: SourceSpec, rows: pa.Table) -> Duplicates:
    """How many rows of ``rows`` repeat the key of an earlier row."""
    key = list(spec.records.key)
    if rows.num_rows == 0:
        return Duplicates(rows=0, duplicate_rows=0, examples=())
    counts = rows.select(key).group_by(key).aggregate([([], "count_all")])
    repeated = counts.filter(pc.greater(counts.column("count_all"), 1))
    extra = int(pc.sum(repeated.column("count_all")).as_py() or 0) - repeated.num_rows
    examples = tuple(
        ", ".join(f"{column}={row[column]}" for column in key) + f" ({row['count_all']}x)"
        for row in repeated.slice(0, _EXAMPLES).to_pylist()
    )
    return Duplicates(rows=rows.num_rows, duplicate_rows=extra, examples=examples)


@dataclass(frozen=True, slots=True, kw_only=True)
class Revisions:
    """How often the source re-issued values (informational: revisions are expected for forecasts)."""

    periods: int
    """Distinct (series, time) pairs."""
    revised_periods: int
    """Pairs with more than one version."""
    max_versions: int
    """Most versions any pair has (1: nothing revised; 0: no rows)."""

    @property
    def passed(self) -> bool:
        """Always True: revisions are kept as versions, so they are counted, never a failure."""
        return True

    @property
    def description(self) -> str:
        return f"{self.revised_periods} of {self.periods} periods were revised, at most {self.max_versions} versions"

    @property
    def metadata(self) -> dict[str, MetadataValue]:
        return {
            "periods": self.periods,
            "revised_periods": self.revised_periods,
            "max_versions": self.max_versions,
        }


def check_revisions(spec: SourceSpec, rows: pa.Table) -> Revisions:
    """Versions per series and time of ``rows`` (distinct version values; one each without versions)."""
    records = spec.records
    group = [*records.series, records.time_column]
    if rows.num_rows == 0:
        return Revisions(periods=0, revised_periods=0, max_versions=0)
    if records.version_column is None:
        periods = rows.select(group).group_by(group).aggregate([]).num_rows
        return Revisions(periods=periods, revised_periods=0, max_versions=1)
    versions = (
        rows.select([*group, records.version_column])
        .group_by(group)
        .aggregate([(records.version_column, "count_distinct")])
    )
    counts = versions.column(f"{records.version_column}_count_distinct")
    return Revisions(
        periods=versions.num_rows,
        revised_periods=int(pc.sum(pc.greater(counts, 1)).as_py() or 0),
        max_versions=int(pc.max(counts).as_py()),
    )
