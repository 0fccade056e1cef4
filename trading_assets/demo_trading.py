"""The paper-trading half of the demo: the executor trades the champions over the demo's last day (the
day the models were scored on, never trained on), replayed through an in-process bus, and the
``paper_trading`` job records the day's ``paper_fills`` and ``portfolio_daily`` for the Dagster UI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.bus.embedded import EmbeddedTickBus
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.factory import TableStoreConfig, open_table_store
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.archive.reader import TickReader
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_bounds_us
from trading_assets.market.bars import BARS_TABLE
from trading_assets.services.executor import Executor, ExecutorConfig, ExecutorStats

_BATCH = 20_000


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperResult:
    """What the executor did on the demo's last day."""

    day: dt.date
    """The day traded."""
    stats: ExecutorStats
    """Ticks, decisions, orders, denials and fills."""
    equity: float
    """Equity at the end of the day."""
    initial_cash: float
    """Cash of the paper account at the start."""
    by_symbol: dict[str, tuple[float, int]]
    """Symbol -> (PnL after fees, realized and unrealized; fills)."""
    by_version: dict[tuple[str, str], tuple[float, float, int]]
    """(symbol, model version) -> (realized PnL, fees, fills)."""


def paper_trade_day(settings: Settings, day: dt.date) -> PaperResult:
    """Replay ``day``'s ticks through the executor with the registry's champions, warmed up with the
    bars of the day before; record everything in the ledger of ``settings``' table store."""
    with (
        open_tick_store(TickStoreConfig.from_settings(settings)) as ticks,
        open_tick_archive(TickArchiveConfig.from_settings(settings)) as archive,
        open_table_store(TableStoreConfig.from_settings(settings)) as tables,
    ):
        day_ticks = TickReader(ticks, archive).read_day(day).sort_by("trade_time_us")
        start, _ = day_bounds_us(day)
        warm = tables.read(BARS_TABLE, start_us=start - 86_400_000_000, end_us=start)
        registry = open_model_registry(ModelRegistryConfig.from_settings(settings))
        bus = EmbeddedTickBus()
        for offset in range(0, day_ticks.num_rows, _BATCH):
            bus.publish(day_ticks.slice(offset, _BATCH))
        bus.flush()
        config = ExecutorConfig(
            symbols=settings.symbols, instance="demo", checkpoint_s=1e9, poll_timeout_s=0.01
        )
        executor = Executor(bus.consumer(group="executor", venues=["sim"]), registry, tables, config)
        executor.start()
        executor.core.warm_up(warm)
        idle = 0
        while idle < 3:
            idle = idle + 1 if executor.run_once() is None else 0
        executor.checkpoint()
        registry.close()
    portfolio = executor.portfolio
    by_version = {
        key: (value.realized_pnl, value.fees, value.fills)
        for key, value in sorted(portfolio.attribution().items())
    }
    by_symbol: dict[str, tuple[float, int]] = {}
    for (symbol, _), (realized, fees, fills) in by_version.items():
        pnl, count = by_symbol.get(symbol, (0.0, 0))
        by_symbol[symbol] = (pnl + realized - fees, count + fills)
    for symbol, position in portfolio.positions.items():
        last = portfolio.last_price(symbol)
        if last is not None:
            pnl, count = by_symbol.get(symbol, (0.0, 0))
            by_symbol[symbol] = (pnl + (last - position.avg_cost) * position.quantity, count)
    return PaperResult(
        day=day,
        stats=executor.stats,
        equity=portfolio.equity(),
        initial_cash=config.initial_cash,
        by_symbol=by_symbol,
        by_version=by_version,
    )


def record_paper_day(home: Path, day: dt.date) -> bool:
    """Run the ``paper_trading`` job (paper_fills, portfolio_daily) for ``day`` in the demo's instance;
    whether it succeeded."""
    import dagster as dg

    from trading_assets.demo_graph import DEMO_RUN_CONFIG, dagster_home, ensure_instance_yaml, run_job

    instance_dir = dagster_home(home)
    ensure_instance_yaml(instance_dir)
    with dg.DagsterInstance.from_config(str(instance_dir)) as instance:
        run = run_job(instance, "paper_trading", day.isoformat(), run_config=DEMO_RUN_CONFIG)
    return run.status == dg.DagsterRunStatus.SUCCESS
