"""The retention schedule: every night, after the archive, drop from the tick store the days that are
archived, verified and older than the hot retention (the hot_retention asset records which)."""

import dagster as dg

from trading_assets.jobs import retention_job

retention_schedule = dg.ScheduleDefinition(
    name="store_retention_schedule",
    job=retention_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 03:00 UTC (after the 01:30 archive), drop archived days past the hot retention from "
    "the tick store.",
)
