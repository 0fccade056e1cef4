import datetime as dt

import dagster as dg

from sensors.retention_schedule import retention_schedule
from trading_assets.definitions import defs


def test_retention_runs_on_its_own_schedule_after_the_archive() -> None:
    schedule = retention_schedule
    when = dt.datetime(2025, 6, 10, 3, 0, tzinfo=dt.UTC)

    with dg.build_schedule_context(scheduled_execution_time=when) as context:
        requests = schedule.evaluate_tick(context).run_requests

    (request,) = requests
    assert request.partition_key is None  # not a daily run: retention looks at every stored day
    assert defs().resolve_schedule_def(retention_schedule.name).job_name == "store_retention"
    assert schedule.cron_schedule == "0 3 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_archive_job_holds_no_retention() -> None:
    archive = defs().resolve_job_def("archive_ticks")
    retention = defs().resolve_job_def("store_retention")

    assert {key.to_user_string() for key in archive.asset_layer.executable_asset_keys} == {"tick_archive"}
    assert {key.to_user_string() for key in retention.asset_layer.executable_asset_keys} == {"hot_retention"}
