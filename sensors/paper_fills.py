"""The paper-fills sensor: materializes a day's ``paper_fills`` and ``portfolio_daily`` as its fills arrive.

Every minute it reads the days of the ledger's ``paper_fills`` table with their row counts (one cheap
query) and requests the ``paper_trading`` job for each day whose count changed since the cursor, plus
once more after a day with fills has closed (its end-of-day equity counts the marks after its last fill).
The run key names the day, the count and whether the day was closed, so a request is never repeated.
"""

import datetime as dt
import json

import dagster as dg

from resources.table_store.resource import TableStoreResource
from trading_assets.execution.assets import PAPER_DAILY
from trading_assets.execution.ledger_tables import FILLS
from trading_assets.jobs import paper_trading_job


def day_states(counts: dict[dt.date, int], *, today: dt.date) -> dict[str, str]:
    """Each day's state as the cursor keeps it: ``<fills>`` while the day is open, ``<fills>-closed`` after."""
    return {day.isoformat(): f"{n}-closed" if day < today else str(n) for day, n in counts.items()}


def changed_days(states: dict[str, str], cursor: dict[str, str]) -> list[str]:
    """Days (ISO) whose state differs from the cursor's, oldest first."""
    return sorted(day for day, state in states.items() if cursor.get(day) != state)


@dg.sensor(
    job=paper_trading_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests paper_fills and portfolio_daily for each day whose number of paper fills changed "
    "since the last evaluation, and once more when a day with fills has closed.",
)
def paper_fills_sensor(
    context: dg.SensorEvaluationContext, table_store: TableStoreResource
) -> dg.SensorResult:
    cursor: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    with table_store.open() as store:
        counts = {p.day: p.rows for p in store.days(FILLS.spec)}
    first = PAPER_DAILY.start.date()
    outside = sorted(day for day in counts if day < first)
    if outside:
        context.log.warning(
            f"{len(outside)} day(s) of paper fills lie before the first daily partition {first} and are "
            f"not summed up: {', '.join(d.isoformat() for d in outside[:5])}"
        )
    today = dt.datetime.now(dt.UTC).date()
    # Only days that are partitions: from the first one to today (a clock ahead of ours is not trusted).
    states = day_states({d: n for d, n in counts.items() if first <= d <= today}, today=today)
    days = changed_days(states, cursor)
    # The states of the stored days only: a day dropped from the store leaves the cursor.
    new_cursor = json.dumps(states, sort_keys=True)
    if not days:
        return dg.SensorResult(
            skip_reason=f"no day's paper fills changed ({len(states)} day(s) with fills)", cursor=new_cursor
        )
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"paper_trading-{day}-{states[day]}", partition_key=day) for day in days
        ],
        cursor=new_cursor,
    )
