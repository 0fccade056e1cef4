"""The paper-fills sensor: a run per day whose fill count changed, once per change, and once after close."""

import dataclasses
import datetime as dt
import json
from pathlib import Path

import dagster as dg

from resources.table_store import TableStoreConfig, open_table_store
from resources.table_store.resource import TableStoreResource
from sensors.paper_fills import paper_fills_sensor
from tests.trading_assets.execution.test_daily import fill
from trading_assets.core.time import US_PER_MINUTE, day_start_us
from trading_assets.execution.ledger import Ledger

TODAY = dt.datetime.now(dt.UTC).date()
EARLIER = TODAY - dt.timedelta(days=2)


def _record(root: Path, day: dt.date, ids: range) -> None:
    """Fills ``ids`` on ``day``, recorded by the Ledger as the executor does."""
    with open_table_store(TableStoreConfig(kind="embedded", embedded_dir=root)) as store:
        ledger = Ledger(store)
        ledger.load(day_start_us(day))
        start = day_start_us(day) + US_PER_MINUTE
        ledger.record_fills(
            [
                dataclasses.replace(
                    fill(n, "BTCUSDT", 1, 1, 1.0, 100.0, 0.1, start + n), fill_id=f"{day}-{n}"
                )
                for n in ids
            ]
        )


def _evaluate(root: Path, cursor: str | None) -> dg.SensorResult:
    resources = {"table_store": TableStoreResource(kind="embedded", embedded_dir=str(root))}
    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as context,
    ):
        return paper_fills_sensor(context)


def _requests(result: dg.SensorResult) -> list[tuple[str | None, str | None]]:
    return [(r.partition_key, r.run_key) for r in result.run_requests or []]


def test_requests_each_day_with_fills_then_nothing_until_more_fills_arrive(tmp_path: Path) -> None:
    _record(tmp_path, EARLIER, range(3))
    _record(tmp_path, TODAY, range(2))

    first = _evaluate(tmp_path, None)
    second = _evaluate(tmp_path, first.cursor)
    _record(tmp_path, TODAY, range(2, 5))
    third = _evaluate(tmp_path, second.cursor)

    # A closed day is summed up with its final state; today's count is in the run key while it grows.
    assert _requests(first) == [
        (EARLIER.isoformat(), f"paper_trading-{EARLIER}-3-closed"),
        (TODAY.isoformat(), f"paper_trading-{TODAY}-2"),
    ]
    assert _requests(second) == []
    assert "no day's paper fills changed" in str(second.skip_reason)
    assert _requests(third) == [(TODAY.isoformat(), f"paper_trading-{TODAY}-5")]
    assert json.loads(third.cursor or "{}") == {EARLIER.isoformat(): "3-closed", TODAY.isoformat(): "5"}


def test_a_day_is_requested_once_more_when_it_closes(tmp_path: Path) -> None:
    _record(tmp_path, EARLIER, range(3))
    # The cursor of an evaluation made while EARLIER was still the current day.
    cursor = json.dumps({EARLIER.isoformat(): "3"})

    result = _evaluate(tmp_path, cursor)

    assert _requests(result) == [(EARLIER.isoformat(), f"paper_trading-{EARLIER}-3-closed")]


def test_skips_without_any_fills(tmp_path: Path) -> None:
    result = _evaluate(tmp_path, None)

    assert _requests(result) == []
    assert "0 day(s) with fills" in str(result.skip_reason)
