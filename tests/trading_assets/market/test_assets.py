"""tick_partition, bars_1m and tick_archive materialized in-process on the embedded store, a local archive,
and the simulated exchange as the venue whose REST history fills gaps."""

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.exchange_feed.resource import VenueHistoryResource
from resources.service_state import EmbeddedServiceState, LiveGapFill
from resources.service_state.resource import ServiceStateResource
from resources.table_store.embedded import EmbeddedTableStore
from resources.tick_store.base import TickStore
from resources.tick_store.embedded import EmbeddedTickStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from tests.trading_assets.venues import traded_venue
from trading_assets.archive.assets import tick_archive
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_bounds_us
from trading_assets.definitions import resources
from trading_assets.market.assets import bars_1m, tick_partition
from trading_assets.market.bars import BARS_TABLE, compute_bars_1m

DAY = dt.date(2025, 3, 4)
SYMBOLS = ("BTCUSDT", "ETHUSDT")
TRADES = 4_000


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, pa.Table]]:
    """The simulated exchange after it printed TRADES trades on DAY, and every one of them via REST."""
    with traded_venue("sim", DAY, symbols=SYMBOLS, trades=TRADES) as venue:
        yield venue


def _resources(tmp_path: Path, rest_url: str, **history: object) -> dict[str, object]:
    # The embedded defaults under tmp_path: the store in ticks/, the archive in archive/.
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})
    return resources(
        settings,
        venue_history=VenueHistoryResource(rest_urls={"sim": rest_url}, **history),
        service_state=ServiceStateResource(sqlite_path=str(tmp_path / "state.sqlite")),
    )


def _store(tmp_path: Path) -> TickStore:
    return open_tick_store(TickStoreConfig(kind="embedded", embedded_dir=tmp_path / "ticks"))


def _without(ticks: pa.Table, symbol: str, first: int, last: int) -> pa.Table:
    ids, symbols = ticks["trade_id"], ticks["symbol"]
    hole = pc.and_(pc.equal(symbols, symbol), pc.and_(pc.greater_equal(ids, first), pc.less_equal(ids, last)))
    return ticks.filter(pc.invert(hole))


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


SEAL_CHECKS = {"no_trade_id_gaps", "no_duplicates", "time_monotonic", "price_jumps_within_bounds"}


def _seal_checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {name: passed for name, passed in _checks(result).items() if name in SEAL_CHECKS}


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    (event,) = [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == asset]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_tick_partition_fills_gaps_from_rest_removes_duplicates_and_passes_its_checks(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    rest_url, every_trade = venue
    stored = _without(every_trade, "BTCUSDT", 100, 149)
    store = _store(tmp_path)
    store.insert(stored)
    store.insert(stored.slice(0, 500))  # redelivered by the bus: duplicates

    result = dg.materialize(
        [tick_partition], partition_key=DAY.isoformat(), resources=_resources(tmp_path, rest_url)
    )

    assert result.success
    meta = _metadata(result, "tick_partition")
    assert meta["rows"] == every_trade.num_rows == TRADES
    assert (meta["gaps_found"], meta["gaps_filled"], meta["gaps_left"]) == (50, 50, 0)
    assert _seal_checks(result) == dict.fromkeys(SEAL_CHECKS, True)
    # The venue printed an hour of trades: the day is not complete, which warns without blocking.
    assert _checks(result)["day_complete"] is False
    assert (
        store.export(DAY)
        .sort_by([("symbol", "ascending"), ("trade_id", "ascending")])["trade_id"]
        .equals(every_trade.sort_by([("symbol", "ascending"), ("trade_id", "ascending")])["trade_id"])
    )


def test_rematerializing_a_day_gives_the_same_rows_and_metadata(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    rest_url, every_trade = venue
    _store(tmp_path).insert(every_trade)
    resources = _resources(tmp_path, rest_url)

    first = dg.materialize([tick_partition, bars_1m], partition_key=DAY.isoformat(), resources=resources)
    second = dg.materialize([tick_partition, bars_1m], partition_key=DAY.isoformat(), resources=resources)

    for asset in ("tick_partition", "bars_1m"):
        assert _metadata(first, asset) == _metadata(second, asset)
    assert _store(tmp_path).export(DAY).num_rows == TRADES


def test_bars_are_stored_queryable_reconciled_and_charted(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    rest_url, every_trade = venue
    store = _store(tmp_path)
    store.insert(every_trade)

    result = dg.materialize(
        [tick_partition, bars_1m], partition_key=DAY.isoformat(), resources=_resources(tmp_path, rest_url)
    )

    assert result.success
    start_us, end_us = day_bounds_us(DAY)
    expected = compute_bars_1m(store.export(DAY))
    tables = EmbeddedTableStore(tmp_path / "tables")
    got = tables.read(BARS_TABLE, start_us=start_us, end_us=end_us, filters={"symbol": "ETHUSDT"})
    assert got.equals(expected.filter(pc.equal(expected["symbol"], "ETHUSDT")))
    assert _checks(result)["bars_reconcile_with_ticks"] is True
    meta = _metadata(result, "bars_1m")
    assert meta["bars"] == expected.num_rows
    # The UI shows Markdown metadata inline only below 1,000 characters: the sparkline table fits.
    chart = str(meta["chart"])
    assert len(chart) < 1_000
    assert all(f"| {symbol} |" in chart for symbol in SYMBOLS)
    assert set(chart) & set("▁▂▃▄▅▆▇█")
    assert str(meta["chart_png"]).startswith("![price and volume](data:image/png;base64,")


def test_a_failed_blocking_check_stops_bars_from_being_built(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    _, every_trade = venue
    store = _store(tmp_path)
    store.insert(every_trade)
    # Nothing can fill this gap: the venue's history is turned off, so the no-gaps check fails.
    store.drop(DAY)
    store.insert(_without(every_trade, "ETHUSDT", 10, 19))
    resources = _resources(tmp_path, "http://127.0.0.1:9", without_history=["sim"])

    result = dg.materialize(
        [tick_partition, bars_1m], partition_key=DAY.isoformat(), resources=resources, raise_on_error=False
    )

    assert _checks(result)["no_trade_id_gaps"] is False
    assert [m.asset_key.to_user_string() for m in result.get_asset_materialization_events()] == [
        "tick_partition"
    ]
    assert EmbeddedTableStore(tmp_path / "tables").days(BARS_TABLE) == []


def test_an_empty_day_fails_with_what_to_do(tmp_path: Path, venue: tuple[str, pa.Table]) -> None:
    rest_url, _ = venue

    with pytest.raises(dg.Failure, match="no ticks are stored for 2025-03-04"):
        dg.materialize(
            [tick_partition], partition_key=DAY.isoformat(), resources=_resources(tmp_path, rest_url)
        )


def test_archive_writes_and_verifies_the_day_and_leaves_the_store_alone(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    rest_url, every_trade = venue
    store = _store(tmp_path)
    store.insert(every_trade)
    resources = _resources(tmp_path, rest_url)

    archived = dg.materialize(
        [tick_partition, bars_1m, tick_archive],
        selection=[tick_partition, tick_archive],
        partition_key=DAY.isoformat(),
        resources=resources,
    )

    meta = _metadata(archived, "tick_archive")
    assert meta["rows"] == TRADES
    assert _checks(archived)["archive_rows_match_partition"] is True
    assert open_tick_archive(TickArchiveConfig(location=str(tmp_path / "archive"))).verify(DAY).rows == TRADES
    # Dropping days from the store is hot_retention's job (tests/trading_assets/archive).
    assert [(p.day, p.rows) for p in store.partitions()] == [(DAY, TRADES)]


def test_trades_missing_at_the_days_edges_are_found_and_filled(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    # No jump inside the day reveals these: the first 30 and last 40 BTCUSDT trades never arrived.
    rest_url, every_trade = venue
    btc_last = pc.max(every_trade.filter(pc.equal(every_trade["symbol"], "BTCUSDT"))["trade_id"]).as_py()
    stored = _without(_without(every_trade, "BTCUSDT", 1, 30), "BTCUSDT", btc_last - 39, btc_last)
    _store(tmp_path).insert(stored)

    result = dg.materialize(
        [tick_partition], partition_key=DAY.isoformat(), resources=_resources(tmp_path, rest_url)
    )

    meta = _metadata(result, "tick_partition")
    assert (meta["gaps_found"], meta["gaps_filled"], meta["rows"]) == (70, 70, TRADES)
    assert _seal_checks(result) == dict.fromkeys(SEAL_CHECKS, True)


def test_seal_reports_the_gaps_streamers_filled_live_beside_its_own(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    # Arrange: the day is stored complete; streamers recorded two gaps they filled live that day (one of
    # them short of ids the venue lacked) and one on the next day
    rest_url, every_trade = venue
    EmbeddedTickStore(tmp_path / "ticks").insert(every_trade)

    def fill(symbol: str, first: int, last: int, filled: int, day: dt.date = DAY) -> LiveGapFill:
        return LiveGapFill(
            instance_key="streamer/main/h/sim/abc",
            venue="sim",
            symbol=symbol,
            day=day,
            first_id=first,
            last_id=last,
            filled=filled,
            recorded_us=1,
        )

    with EmbeddedServiceState(tmp_path / "state.sqlite") as state:
        state.record_gap_fills(
            [
                fill("BTCUSDT", 10, 19, 10),
                fill("ETHUSDT", 5, 9, 4),
                fill("BTCUSDT", 1, 2, 2, DAY + dt.timedelta(1)),
            ]
        )

    # Act
    result = dg.materialize(
        [tick_partition], partition_key=DAY.isoformat(), resources=_resources(tmp_path, rest_url)
    )

    # Assert: the seal found nothing itself, and reports what was filled live that day
    meta = _metadata(result, "tick_partition")
    assert (meta["gaps_found"], meta["gaps_filled"]) == (0, 0)
    assert (meta["live_gaps_filled"], meta["live_ids_missing"], meta["live_ids_filled"]) == (2, 15, 14)
    assert meta["live_gaps_by_symbol"] == {
        "sim:BTCUSDT": {"gaps": 1, "missing": 10, "filled": 10},
        "sim:ETHUSDT": {"gaps": 1, "missing": 5, "filled": 4},
    }

    assert _seal_checks(result) == dict.fromkeys(SEAL_CHECKS, True)


class _Unavailable(http.server.BaseHTTPRequestHandler):
    """A venue REST server that answers every request with 503 (retryable) and counts them."""

    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def unavailable_history() -> Iterator[tuple[str, type[_Unavailable]]]:
    handler = type("Unavailable", (_Unavailable,), {"requests": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreadable_venue_history_fails_the_seal_after_one_venue_worth_of_retries(
    tmp_path: Path, venue: tuple[str, pa.Table], unavailable_history: tuple[str, type[_Unavailable]]
) -> None:
    _, every_trade = venue
    url, handler = unavailable_history
    EmbeddedTickStore(tmp_path / "ticks").insert(every_trade)
    resources = _resources(tmp_path, url, max_attempts=3, timeout_s=2.0)

    result = dg.materialize(
        [tick_partition, bars_1m],
        partition_key=DAY.isoformat(),
        resources=resources,
        raise_on_error=False,
    )

    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert "could not read the REST history of sim" in message and "without_history" in message
    # One venue, two symbols: the venue is given up after its first request failed 3 times, not retried
    # again for the other symbol or the other edge.
    assert handler.requests == 3
    assert result.get_asset_materialization_events() == []


def test_each_check_run_is_one_record_of_the_days_partition_with_no_planned_row_left_behind(
    tmp_path: Path, venue: tuple[str, pa.Table]
) -> None:
    # Unpartitioned checks on a daily asset left, per run, a planned row of the partition that the UI
    # shows as "Skipped", beside the result under partition "—".
    rest_url, every_trade = venue
    EmbeddedTickStore(tmp_path / "ticks").insert(every_trade)

    with dg.DagsterInstance.ephemeral() as instance:
        for _ in range(2):
            result = dg.materialize(
                [tick_partition, bars_1m, tick_archive],
                partition_key=DAY.isoformat(),
                resources=_resources(tmp_path, rest_url),
                instance=instance,
            )
            assert result.success
        history = {
            f"{key.asset_key.to_user_string()}:{key.name}": [
                (record.status.value, record.partition)
                for record in instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
            ]
            for key in result.job_def.asset_layer.asset_graph.asset_check_keys
        }

    assert len(history) == 7
    for check, records in history.items():
        # day_complete fails (a warning): the venue printed an hour of trades.
        status = "FAILED" if check == "tick_partition:day_complete" else "SUCCEEDED"
        assert records == [(status, DAY.isoformat())] * 2, check
