"""latest_as_of and versions_of over revised forecasts: never a version published after the as-of time."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tests.trading_assets.sources.helpers import DAY, FORECAST, PRICES, forecast_rows, hour
from trading_assets.sources.versions import latest_as_of, versions_of

T0 = hour(DAY, 0)


def test_latest_as_of_takes_the_newest_version_published_at_or_before_the_time() -> None:
    # Arrange: hour 10 issued at 06:00, 08:00 and 12:00 the same day; hour 11 only at 12:00.
    rows = forecast_rows(
        [
            ("DE", hour(DAY, 10), hour(DAY, 6), 100.0),
            ("DE", hour(DAY, 10), hour(DAY, 8), 110.0),
            ("DE", hour(DAY, 10), hour(DAY, 12), 120.0),
            ("DE", hour(DAY, 11), hour(DAY, 12), 130.0),
        ]
    )

    # Act
    at_eight = latest_as_of(FORECAST, rows, hour(DAY, 8))
    before_any = latest_as_of(FORECAST, rows, hour(DAY, 6) - 1)
    at_noon = latest_as_of(FORECAST, rows, hour(DAY, 12))

    # Assert: exactly at the publish time counts as published; later ones are unseen.
    assert at_eight.to_pylist() == [
        {"area": "DE", "delivery_us": hour(DAY, 10), "published_us": hour(DAY, 8), "mw": 110.0}
    ]
    assert before_any.num_rows == 0
    assert at_noon["mw"].to_pylist() == [120.0, 130.0]


def test_latest_as_of_keeps_series_apart() -> None:
    rows = forecast_rows(
        [
            ("DE", hour(DAY, 1), hour(DAY, 0), 1.0),
            ("FR", hour(DAY, 1), hour(DAY, 0) + 5, 2.0),
            ("FR", hour(DAY, 1), hour(DAY, 0) + 9, 3.0),
        ]
    )

    latest = latest_as_of(FORECAST, rows, hour(DAY, 0) + 9)

    assert [(r["area"], r["mw"]) for r in latest.to_pylist()] == [("DE", 1.0), ("FR", 3.0)]


def test_a_source_without_versions_returns_its_rows_in_time_order() -> None:
    rows = pa.Table.from_pylist(
        [{"delivery_us": hour(DAY, 2), "price": 2.0}, {"delivery_us": hour(DAY, 1), "price": 1.0}],
        schema=PRICES.records.schema,
    )

    assert latest_as_of(PRICES, rows, 0)["price"].to_pylist() == [1.0, 2.0]


def test_versions_of_lists_one_period_oldest_first() -> None:
    rows = forecast_rows(
        [
            ("DE", hour(DAY, 3), hour(DAY, 2), 3.2),
            ("DE", hour(DAY, 3), hour(DAY, 1), 3.1),
            ("FR", hour(DAY, 3), hour(DAY, 1), 9.9),
            ("DE", hour(DAY, 4), hour(DAY, 1), 4.1),
        ]
    )

    versions = versions_of(FORECAST, rows, series={"area": "DE"}, time_us=hour(DAY, 3))

    assert versions["mw"].to_pylist() == [3.1, 3.2]
    with pytest.raises(ValueError, match="area"):
        versions_of(FORECAST, rows, series={"zone": "DE"}, time_us=hour(DAY, 3))


@pytest.mark.parametrize("seed", range(40))
def test_random_cases_never_see_the_future_and_always_take_the_newest_seen(seed: int) -> None:
    # Arrange: seeded random versions of random periods of a few series (property test without hypothesis).
    rng = random.Random(seed)
    tuples = {
        (rng.choice("ABC"), T0 + rng.randrange(6) * 3_600_000_000, T0 + rng.randrange(-50, 50) * 60_000_000)
        for _ in range(rng.randrange(0, 60))
    }
    rows = forecast_rows([(a, d, p, rng.random()) for a, d, p in tuples])
    as_of = T0 + rng.randrange(-60, 60) * 60_000_000

    # Act
    latest = latest_as_of(FORECAST, rows, as_of)

    # Assert
    assert all(row["published_us"] <= as_of for row in latest.to_pylist())
    expected: dict[tuple[str, int], int] = {}
    for area, delivery, published in tuples:
        if published <= as_of:
            expected[(area, delivery)] = max(published, expected.get((area, delivery), published))
    got = {(r["area"], r["delivery_us"]): r["published_us"] for r in latest.to_pylist()}
    assert got == expected
    assert latest.num_rows == len(expected)  # one row per series and time
