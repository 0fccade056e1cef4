import datetime as dt
from pathlib import Path

import dagster as dg

from resources.tick_store.factory import TickStoreConfig, open_tick_store
from resources.tick_store.resource import TickStoreResource
from sensors.day_closed import closed_days, day_closed_sensor
from trading_assets.core.time import day_bounds_us
from trading_assets.market.partitions import first_day
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

    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(instance=instance, resources=resources) as context,
    ):
        result = day_closed_sensor(context)

    assert [r.partition_key for r in result.run_requests] == [d.isoformat() for d in old]
    assert result.cursor == old[-1].isoformat()


def test_sensor_does_not_request_days_already_sealed(tmp_path: Path) -> None:
    # The demo (or a backfill) sealed both days before the daemon first evaluated the sensor, which then
    # has no cursor: it must not seal them again.
    today = dt.datetime.now(dt.UTC).date()
    sealed, open_day = today - dt.timedelta(days=3), today - dt.timedelta(days=2)
    _store_days(tmp_path, [sealed, open_day])
    resources = {"tick_store": TickStoreResource(store="embedded", embedded_dir=str(tmp_path))}

    with dg.DagsterInstance.ephemeral() as instance:
        instance.report_runless_asset_event(
            dg.AssetMaterialization("tick_partition", partition=sealed.isoformat())
        )
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            result = day_closed_sensor(context)

    assert [r.partition_key for r in result.run_requests] == [open_day.isoformat()]
    assert result.cursor == open_day.isoformat()


def test_sensor_skips_when_every_closed_day_is_sealed_and_moves_its_cursor(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=3), today - dt.timedelta(days=2)]
    _store_days(tmp_path, days)
    resources = {"tick_store": TickStoreResource(store="embedded", embedded_dir=str(tmp_path))}

    with dg.DagsterInstance.ephemeral() as instance:
        for day in days:
            instance.report_runless_asset_event(
                dg.AssetMaterialization("tick_partition", partition=day.isoformat())
            )
        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            result = day_closed_sensor(context)

    assert not result.run_requests
    assert "not sealed yet" in str(result.skip_reason)
    assert result.cursor == days[-1].isoformat()


def test_sensor_reports_stored_days_before_the_first_partition(tmp_path: Path) -> None:
    before = first_day() - dt.timedelta(days=2)
    _store_days(tmp_path, [before])
    resources = {"tick_store": TickStoreResource(store="embedded", embedded_dir=str(tmp_path))}

    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(instance=instance, resources=resources) as context,
    ):
        result = day_closed_sensor(context)

    assert not result.run_requests
    assert f"cannot be sealed: {before.isoformat()}" in str(result.skip_reason)
    assert "TRADEGRAPH_PARTITIONS_START" in str(result.skip_reason)


def test_sensor_skips_when_nothing_new_closed(tmp_path: Path) -> None:
    yesterday_but_one = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    _store_days(tmp_path, [yesterday_but_one])
    resources = {"tick_store": TickStoreResource(kind="embedded", embedded_dir=str(tmp_path))}

    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(
            instance=instance, cursor=yesterday_but_one.isoformat(), resources=resources
        ) as context,
    ):
        result = day_closed_sensor(context)

    assert not result.run_requests
    assert "no newly closed day" in str(result.skip_reason)


def test_sensor_is_running_by_default() -> None:
    assert day_closed_sensor.default_status == dg.DefaultSensorStatus.RUNNING
