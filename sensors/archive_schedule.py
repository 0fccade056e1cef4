"""The archive schedule: every night, archive yesterday's sealed ticks (retention runs on its own schedule)."""

import dagster as dg

from trading_assets.jobs import archive_job

archive_schedule = dg.build_schedule_from_partitioned_job(
    archive_job,
    hour_of_day=1,
    minute_of_hour=30,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 01:30 UTC, archive yesterday's partition (after the day-closed sensor sealed it).",
)
