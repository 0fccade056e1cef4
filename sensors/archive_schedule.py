"""The archive schedule: every night, archive yesterday's sealed ticks (retention runs on its own schedule)."""

import datetime as dt

import dagster as dg

from trading_assets.jobs import archive_job


@dg.schedule(
    job=archive_job,
    cron_schedule="30 1 * * *",
    execution_timezone="UTC",
    name="archive_ticks_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 01:30 UTC, archive yesterday's partition (after the day-closed sensor sealed it).",
)
def archive_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    # A RunRequest for the partition itself: build_schedule_from_partitioned_job goes through an API that
    # Dagster 1.13 deprecates and warns about on every tick.
    scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    yesterday = (scheduled.astimezone(dt.UTC) - dt.timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"archive-{yesterday}", partition_key=yesterday)
