"""days_to_drop: a hot day leaves the store only when archived, verified by row count, and old enough."""

from __future__ import annotations

import datetime as dt

import pytest

from resources.archive import ArchivedDay
from trading_assets.archive import days_to_drop

TODAY = dt.date(2024, 3, 20)


def archived(day: dt.date, rows: int) -> ArchivedDay:
    return ArchivedDay(
        day=day,
        uri=f"/archive/ticks/day={day}/ticks.parquet",
        rows=rows,
        bytes=rows * 9,
        sha256="0" * 64,
        written_at_us=1,
    )


def test_an_old_archived_day_with_matching_rows_is_dropped() -> None:
    day = dt.date(2024, 3, 1)

    assert days_to_drop([day], {day: archived(day, 100)}, {day: 100}, today=TODAY) == [day]


def test_a_day_not_archived_is_kept() -> None:
    day = dt.date(2024, 3, 1)

    assert days_to_drop([day], {}, {day: 100}, today=TODAY) == []


def test_a_day_whose_archive_rows_differ_from_the_store_is_kept() -> None:
    day = dt.date(2024, 3, 1)

    assert days_to_drop([day], {day: archived(day, 99)}, {day: 100}, today=TODAY) == []


def test_a_day_without_a_store_row_count_is_kept() -> None:
    day = dt.date(2024, 3, 1)

    assert days_to_drop([day], {day: archived(day, 100)}, {}, today=TODAY) == []


def test_days_within_the_retention_are_kept_and_the_boundary_is_exclusive() -> None:
    seven_days_old, eight_days_old = TODAY - dt.timedelta(days=7), TODAY - dt.timedelta(days=8)
    days = [TODAY, seven_days_old, eight_days_old]
    records = {day: archived(day, 5) for day in days}
    rows = {day: 5 for day in days}

    assert days_to_drop(days, records, rows, today=TODAY) == [eight_days_old]
    assert days_to_drop(days, records, rows, today=TODAY, hot_retention_days=0) == [
        eight_days_old,
        seven_days_old,
    ]


def test_only_hot_days_are_considered_and_the_result_is_sorted_once_each() -> None:
    old = [dt.date(2024, 3, 3), dt.date(2024, 3, 1), dt.date(2024, 3, 2)]
    records = {day: archived(day, 1) for day in [*old, dt.date(2024, 2, 1)]}
    rows = {day: 1 for day in records}

    got = days_to_drop([*old, old[0]], records, rows, today=TODAY)

    assert got == sorted(old)


def test_a_negative_retention_is_rejected() -> None:
    with pytest.raises(ValueError, match="hot_retention_days"):
        days_to_drop([], {}, {}, today=TODAY, hot_retention_days=-1)
