import datetime as dt

import dagster as dg

from sensors.archive_schedule import archive_schedule
from trading_assets.definitions import defs


def test_archive_schedule_archives_yesterday_at_half_past_one() -> None:
    schedule = defs().resolve_schedule_def(archive_schedule.name)
    when = dt.datetime(2025, 6, 10, 1, 30, tzinfo=dt.UTC)

    with dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs().get_repository_def()
    ) as context:
        requests = schedule.evaluate_tick(context).run_requests

    assert [r.partition_key for r in requests] == ["2025-06-09"]
    assert (schedule.job_name, schedule.execution_timezone) == ("archive_ticks", "UTC")
    assert schedule.cron_schedule == "30 1 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
