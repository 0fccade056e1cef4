"""The paper-trading assets materialized over a ledger the Ledger wrote, on ClickHouse 18.16 (the real
server the test setup starts) and on the embedded table store."""

import datetime as dt
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from resources.table_store import TableStoreConfig, open_table_store
from resources.table_store.resource import TableStoreResource
from testkit.servers import ClickHouseServer
from tests.resources.clickhouse.admin import drop_database
from tests.trading_assets.execution.test_daily import DAY, EQUITY, FILLS, ORDERS, T0
from trading_assets.core.time import US_PER_DAY
from trading_assets.definitions import defs
from trading_assets.execution.assets import PAPER_DAILY, paper_fills, portfolio_daily
from trading_assets.execution.daily_table import PORTFOLIO_DAILY, TOTAL
from trading_assets.execution.ledger import Ledger
from trading_assets.execution.ledger_tables import RiskEventRow, event_id


def denial(n: int, rule: str) -> RiskEventRow:
    return RiskEventRow(
        event_id=event_id("denial", n),
        time_us=T0 + n * 1_000_000,
        kind="denial",
        rule=rule,
        order_id=f"denied-{n}",
        symbol="BTCUSDT",
        state="ACTIVE",
        detail="over the limit",
        who="executor",
        why="",
    )


_databases = itertools.count()


@pytest.fixture(params=["clickhouse", "embedded"])
def tables(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TableStoreConfig]:
    """A table store holding the ledger of test_daily's two days, written by the Ledger: a fresh
    ClickHouse database (dropped after) or an embedded folder."""
    database = ""
    if request.param == "embedded":
        config = TableStoreConfig(kind="embedded", embedded_dir=tmp_path / "tables")
    else:
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        database = f"paper_{os.getpid()}_{next(_databases)}"
        config = TableStoreConfig(kind="clickhouse", clickhouse_url=server.url, clickhouse_database=database)
    with open_table_store(config) as store:
        ledger = Ledger(store)
        ledger.load(T0)
        ledger.record_orders(ORDERS)
        ledger.record_fills(FILLS)
        ledger.record_equity(EQUITY)
        ledger.record_risk_events(
            [denial(1, "max_order_notional"), denial(2, "max_order_notional"), denial(3, "stale_data")]
        )
        # A state change is a risk event, not a denial.
        ledger.record_risk_events([_state_event()])
    yield config
    if database:
        drop_database(config.clickhouse_url, database)


def _state_event() -> RiskEventRow:
    return RiskEventRow(
        event_id=event_id("state", 5),
        time_us=T0 + 5_000_000,
        kind="state",
        rule="",
        order_id="",
        symbol="",
        state="REDUCING",
        detail="ACTIVE -> REDUCING",
        who="executor",
        why="",
    )


def _resource(config: TableStoreConfig) -> TableStoreResource:
    return TableStoreResource(
        kind=config.kind,
        embedded_dir=None if config.embedded_dir is None else str(config.embedded_dir),
        clickhouse_url=config.clickhouse_url,
        clickhouse_database=config.clickhouse_database,
    )


def _materialize(config: TableStoreConfig, day: dt.date) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [paper_fills, portfolio_daily],
        partition_key=day.isoformat(),
        resources={"table_store": _resource(config)},
    )


def _metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    (event,) = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in event.metadata.items()}


def test_paper_fills_counts_the_days_fills_orders_and_denials_by_rule(tables: TableStoreConfig) -> None:
    result = _materialize(tables, DAY)

    metadata = _metadata(result, "paper_fills")
    assert result.success
    assert (metadata["fills"], metadata["orders"], metadata["denials"]) == (4, 5, 3)
    assert "| max_order_notional | 2 |" in str(metadata["denials_by_rule"])
    assert "| stale_data | 1 |" in str(metadata["denials_by_rule"])
    assert "| BTCUSDT | 2 |" in str(metadata["fills_per_symbol"])
    assert "| tradegraph-BTCUSDT v2 | 1 |" in str(metadata["fills_per_model_version"])
    assert "| tradegraph-ETHUSDT v1 | 2 |" in str(metadata["fills_per_model_version"])
    assert metadata["traded_notional"] == pytest.approx(470.0)
    assert metadata["fees"] == pytest.approx(0.4)
    assert metadata["first_fill"] == "2024-03-02T00:10:00+00:00"
    assert metadata["last_fill"] == "2024-03-02T00:40:00+00:00"


def test_portfolio_daily_stores_the_day_and_shows_pnl_attribution_and_the_equity_chart(
    tables: TableStoreConfig,
) -> None:
    result = _materialize(tables, DAY)

    metadata = _metadata(result, "portfolio_daily")
    assert metadata["pnl"] == pytest.approx(4.6)
    assert metadata["end_equity"] == 1015.0
    assert metadata["max_drawdown"] == pytest.approx(1 - 1005.0 / 1020.0)
    assert metadata["turnover"] == pytest.approx(470.0)
    assert "| BTCUSDT | tradegraph-BTCUSDT | 2 | 2 | 1 | 105.00 | 5.00 | 0.10 | 4.90 |" in str(
        metadata["attribution"]
    )
    assert str(metadata["equity_chart"]).startswith("![equity and drawdown](data:image/png;base64,")
    with open_table_store(tables) as store:
        rows = store.read(PORTFOLIO_DAILY, start_us=T0, end_us=T0 + US_PER_DAY).to_pylist()
    assert [(r["scope"], r["symbol"], r["model_version"]) for r in rows] == [
        ("model", "BTCUSDT", 1),
        ("model", "BTCUSDT", 2),
        ("model", "ETHUSDT", 1),
        (TOTAL, "", 0),
    ]
    assert [r["realized_pnl"] for r in rows] == pytest.approx([10.0, 5.0, -5.0, 10.0])


def test_materializing_the_day_again_replaces_its_rows(tables: TableStoreConfig) -> None:
    _materialize(tables, DAY)
    _materialize(tables, DAY)

    with open_table_store(tables) as store:
        assert [p.rows for p in store.days(PORTFOLIO_DAILY)] == [4]


def test_the_day_before_starts_from_nothing_and_holds_its_own_fill(tables: TableStoreConfig) -> None:
    result = _materialize(tables, DAY - dt.timedelta(days=1))

    assert _metadata(result, "paper_fills")["fills"] == 1
    assert _metadata(result, "portfolio_daily")["turnover"] == pytest.approx(100.0)


def test_a_day_without_fills_materializes_with_zero_notional_and_fees(tables: TableStoreConfig) -> None:
    # A day the executor traded nothing (no champion yet) once failed: sum() of no fills is the int 0.
    result = _materialize(tables, DAY + dt.timedelta(days=5))

    metadata = _metadata(result, "paper_fills")
    assert result.success
    assert (metadata["fills"], metadata["traded_notional"], metadata["fees"]) == (0, 0.0, 0.0)


def test_the_assets_depend_on_the_champions_and_the_live_ticks_and_include_today() -> None:
    graph = defs().resolve_asset_graph()  # the code location, as the UI shows it

    assert graph.get(paper_fills.key).parent_keys == {
        dg.AssetKey("champion_model"),
        dg.AssetKey("tick_stream"),
    }
    assert graph.get(portfolio_daily.key).parent_keys == {paper_fills.key}
    # The chain the UI draws up to the fills: ticks -> bars -> features -> models -> champion -> fills.
    assert graph.get(dg.AssetKey("champion_model")).parent_keys == {dg.AssetKey("backtest")}
    assert graph.get(dg.AssetKey("features")).parent_keys == {dg.AssetKey("bars_1m")}
    assert paper_fills.group_names_by_key[paper_fills.key] == "trading"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert PAPER_DAILY.get_last_partition_key() == today
