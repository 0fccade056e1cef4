"""The day-closed sensor: once a UTC day is over (plus a grace period for late trades), seal it and
compute its bars, unless that day is sealed already (the demo, a backfill or a manual run did it).

Stored days before the first daily partition cannot be sealed by any asset: the sensor reports them (a
warning in its log and in its skip reason) instead of leaving them in the store unnoticed.
"""

import datetime as dt

import dagster as dg

from resources.tick_store.resource import TickStoreResource
from trading_assets.jobs import seal_and_bars_job
from trading_assets.market.partitions import PARTITIONS_START_ENV, first_day, outside_partitions

GRACE = dt.timedelta(minutes=10)
SEALED_ASSET = dg.AssetKey("tick_partition")


def closed_days(
    stored: list[dt.date], *, now: dt.datetime, after: dt.date | None, grace: dt.timedelta = GRACE
) -> list[dt.date]:
    """Days with stored ticks that are over by ``grace`` at ``now`` and later than ``after``, oldest first."""
    last_closed = (now - grace).date() - dt.timedelta(days=1)
    return sorted(d for d in stored if d <= last_closed and (after is None or d > after))


def _outside_message(days: list[dt.date]) -> str:
    shown = ", ".join(d.isoformat() for d in days[:5]) + (
        f" and {len(days) - 5} more" if len(days) > 5 else ""
    )
    return (
        f"{len(days)} stored day(s) lie before the first daily partition {first_day()} and cannot be "
        f"sealed: {shown}; set {PARTITIONS_START_ENV} to an earlier day to seal them"
    )


@dg.sensor(
    job=seal_and_bars_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests seal + bars for each day with ticks once it is closed (end of day + 10 minutes) "
    "and not sealed yet; reports stored days outside the daily partitions.",
)
def day_closed_sensor(context: dg.SensorEvaluationContext, tick_store: TickStoreResource) -> dg.SensorResult:
    after = dt.date.fromisoformat(context.cursor) if context.cursor else None
    with tick_store.open() as store:
        stored = [p.day for p in store.partitions()]
    outside = outside_partitions(stored)
    notes = []
    if outside:
        notes.append(_outside_message(outside))
        context.log.warning(notes[-1])
    closed = [d for d in closed_days(stored, now=dt.datetime.now(dt.UTC), after=after) if d not in outside]
    sealed = context.instance.get_materialized_partitions(SEALED_ASSET)
    days = [d for d in closed if d.isoformat() not in sealed]
    if len(days) < len(closed):
        context.log.info(
            "already sealed, not requested again: "
            + ", ".join(d.isoformat() for d in closed if d.isoformat() in sealed)
        )
    cursor = closed[-1].isoformat() if closed else context.cursor
    if not days:
        reason = f"no newly closed day with ticks that is not sealed yet (last looked at: {cursor or 'none'})"
        return dg.SensorResult(skip_reason="; ".join([reason, *notes]), cursor=cursor)
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"seal-{d}", partition_key=d.isoformat()) for d in days],
        cursor=cursor,
    )
