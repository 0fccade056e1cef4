"""The day checks of a source: completeness against periods_per_day, duplicates and revisions."""

from __future__ import annotations

import pyarrow as pa

from tests.trading_assets.sources.helpers import DAY, FORECAST, PRICES, forecast_rows, full_forecast_day, hour
from trading_assets.sources.checks import check_completeness, check_duplicates, check_revisions


def test_a_full_day_of_every_series_is_complete() -> None:
    result = check_completeness(FORECAST, DAY, full_forecast_day(DAY, versions=2))

    assert result.passed
    assert [s.series for s in result.series] == ["DE", "FR"]
    assert all(s.present == 24 and s.missing == () for s in result.series)
    assert result.metadata["missing_periods"] == 0


def test_missing_periods_are_listed_per_series() -> None:
    # Arrange: FR lacks hours 5 and 17.
    full = full_forecast_day(DAY)
    rows = full.filter(
        pa.array(
            [
                not (r["area"] == "FR" and r["delivery_us"] in (hour(DAY, 5), hour(DAY, 17)))
                for r in full.to_pylist()
            ]
        )
    )

    # Act
    result = check_completeness(FORECAST, DAY, rows)

    # Assert
    assert not result.passed
    by_series = {s.series: s for s in result.series}
    assert by_series["DE"].missing == ()
    assert by_series["FR"].missing == (hour(DAY, 5), hour(DAY, 17))
    assert by_series["FR"].present == 22
    assert result.missing_periods == 2
    assert "FR misses 2 (05:00, 17:00)" in result.description


def test_times_off_the_period_grid_are_counted_and_an_empty_day_fails() -> None:
    rows = pa.concat_tables(
        [
            full_forecast_day(DAY, ("DE",)),
            forecast_rows([("DE", hour(DAY, 3) + 60_000_000, hour(DAY, 0), 1.0)]),
        ]
    )

    result = check_completeness(FORECAST, DAY, rows)
    empty = check_completeness(FORECAST, DAY, FORECAST.records.schema.empty_table())

    assert result.passed and result.metadata["off_grid_times"] == 1
    assert not empty.passed and "no rows" in empty.description


def test_a_source_without_series_is_one_series() -> None:
    rows = pa.Table.from_pylist(
        [{"delivery_us": hour(DAY, h), "price": float(h)} for h in range(23)], schema=PRICES.records.schema
    )

    result = check_completeness(PRICES, DAY, rows)

    assert not result.passed
    assert [(s.series, s.missing) for s in result.series] == [("(all)", (hour(DAY, 23),))]


def test_duplicates_counts_rows_repeating_a_key() -> None:
    day = full_forecast_day(DAY, ("DE",))
    doubled = pa.concat_tables([day, day.slice(0, 3), day.slice(0, 1)])

    clean = check_duplicates(FORECAST, day)
    dirty = check_duplicates(FORECAST, doubled)

    assert clean.passed and clean.duplicate_rows == 0
    assert not dirty.passed
    assert dirty.duplicate_rows == 4
    assert len(dirty.examples) == 3
    assert f"delivery_us={hour(DAY, 0)}" in dirty.examples[0] and "(3x)" in dirty.examples[0]


def test_revisions_counts_periods_with_more_than_one_version() -> None:
    rows = pa.concat_tables(
        [
            full_forecast_day(DAY, ("DE",)),
            forecast_rows([("DE", hour(DAY, 4), hour(DAY, 1), 1.0), ("DE", hour(DAY, 4), hour(DAY, 2), 2.0)]),
            forecast_rows([("DE", hour(DAY, 9), hour(DAY, 1), 1.0)]),
        ]
    )

    result = check_revisions(FORECAST, rows)
    none = check_revisions(FORECAST, FORECAST.records.schema.empty_table())

    assert result.passed
    assert (result.periods, result.revised_periods, result.max_versions) == (24, 2, 3)
    assert (none.periods, none.revised_periods, none.max_versions) == (0, 0, 0)
