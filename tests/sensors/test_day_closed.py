import datetime as dt
from pathlib import Path

import dagster as dg

from resources.tick_store.factory import TickStoreConfig, open_tick_store
from resources.tick_store.resource import TickStoreResource
from sensors.day_closed import closed_days, day_closed_sensor
from trading_assets.core.time import day_bounds_us
from trading_assets.market.simulation import simulate_day

D = dt.date


def test_a_day_is_closed_only_after_midnight_plus_the_grace_period() -> None:
    stored = [D(2025, 1, 1), D(2025, 1, 2), D(2025, 1, 3)]

    at_5_past = closed_days(stored, now=dt.datetime(2025, 1, 3, 0, 5, tzinfo=dt.UTC), after=None)
    at_15_past = closed_days(stored, now=dt.datetime(2025, 1, 3, 0, 15, tzinfo=dt.UTC), after=None)

    assert at_5_past == [D(2025, 1, 1)]
    assert at_15_past == [D(2025, 1, 1), D(2025, 1, 2)]


def test_days_already_requested_are_not_requested_again() -> None:
    stored = [D(2025, 1, 1), D(2025, 1, 2)]

    assert closed_days(stored, now=dt.datetime(2025, 2, 1, tzinfo=dt.UTC), after=D(2025, 1, 1)) == [
        D(2025, 1, 2)
    ]


def _store_days(root: Path, days: list[dt.date]) -> None:
    store = open_tick_store(TickStoreConfig(embedded_dir=root))
    for day in days:
        store.insert(simulate_day(day_start_us=day_bounds_us(day)[0], ticks=50))


def test_sensor_requests_seal_and_bars_for_closed_days_but_not_today(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    old = [today - dt.timedelta(days=3), today - dt.timedelta(days=2)]
    _store_days(tmp_path, [*old, today])
    resources = {"tick_store": TickStoreResource(kind="embedded", embedded_dir=str(tmp_path))}

    with dg.build_sensor_context(resources=resources) as context:
        result = day_closed_sensor(context)

    assert [r.partition_key for r in result.run_requests] == [d.isoformat() for d in old]
    assert result.cursor == old[-1].isoformat()


def test_sensor_skips_when_nothing_new_closed(tmp_path: Path) -> None:
    yesterday_but_one = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    _store_days(tmp_path, [yesterday_but_one])
    resources = {"tick_store": TickStoreResource(kind="embedded", embedded_dir=str(tmp_path))}

    with dg.build_sensor_context(cursor=yesterday_but_one.isoformat(), resources=resources) as context:
        result = day_closed_sensor(context)

    assert not result.run_requests
    assert "no newly closed day" in str(result.skip_reason)


def test_sensor_is_running_by_default() -> None:
    assert day_closed_sensor.default_status == dg.DefaultSensorStatus.RUNNING
