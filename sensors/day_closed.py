"""The day-closed sensor: once a UTC day is over (plus a grace period for late trades), seal it and
compute its bars."""

import datetime as dt

import dagster as dg

from resources.tick_store.resource import TickStoreResource
from trading_assets.jobs import seal_and_bars_job

GRACE = dt.timedelta(minutes=10)


def closed_days(
    stored: list[dt.date], *, now: dt.datetime, after: dt.date | None, grace: dt.timedelta = GRACE
) -> list[dt.date]:
    """Days with stored ticks that are over by ``grace`` at ``now`` and later than ``after``, oldest first."""
    last_closed = (now - grace).date() - dt.timedelta(days=1)
    return sorted(d for d in stored if d <= last_closed and (after is None or d > after))


@dg.sensor(
    job=seal_and_bars_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests seal + bars for each day with ticks once it is closed (end of day + 10 minutes).",
)
def day_closed_sensor(context: dg.SensorEvaluationContext, tick_store: TickStoreResource) -> dg.SensorResult:
    after = dt.date.fromisoformat(context.cursor) if context.cursor else None
    with tick_store.open() as store:
        stored = [p.day for p in store.partitions()]
    days = closed_days(stored, now=dt.datetime.now(dt.UTC), after=after)
    if not days:
        return dg.SensorResult(
            skip_reason=f"no newly closed day with ticks (last requested: {after or 'none'})"
        )
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"seal-{d}", partition_key=d.isoformat()) for d in days],
        cursor=days[-1].isoformat(),
    )
