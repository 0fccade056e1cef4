"""`tradegraph run` with the paper executor: it trades the registry's champion on the run's own ticks."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

from resources.bus.embedded import EmbeddedTickBus
from resources.model_registry.factory import ModelRegistryConfig, open_model_registry
from resources.table_store.factory import TableStoreConfig, open_table_store
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.champions import register_champion
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_start_us
from trading_assets.execution.ledger import Ledger
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.pipeline import PipelineConfig, run_pipeline

SYMBOL = "BTCUSDT"


def test_run_trades_the_champion_on_paper_and_records_its_fills(tmp_path: Path) -> None:
    # Arrange: a home whose registry holds a champion for the one symbol of the run
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path), "TRADEGRAPH_SYMBOLS": SYMBOL})
    config = MarketConfig(
        symbols=(SYMBOL,), trades_per_second=40_000 / 86_400, trend=((SYMBOL, 0.1),), seed=11
    )
    training = MarketSimulator(config=config, start_us=day_start_us(dt.date(2026, 3, 1))).generate(40_000)
    registry = open_model_registry(ModelRegistryConfig.from_settings(settings))
    register_champion(registry, training, SYMBOL)
    registry.close()
    # An hour of exchange time per wall second, from six hours ago: about four hours of one-minute bars.
    start = (time.time_ns() // 1_000) - 6 * 3_600_000_000
    run = PipelineConfig(rate=2_000.0, speed=3_600.0, sim_start_us=start, max_trades=8_000, execute=True)

    # Act
    with EmbeddedTickBus() as bus, open_tick_store(TickStoreConfig.from_settings(settings)) as store:
        summary = run_pipeline(settings, bus, store, run, threading.Event())

    # Assert: every tick reached the executor, which decided after the warm-up and filled on paper
    paper = summary.paper
    assert paper is not None and paper.error is None
    assert summary.loaded == 8_000 and paper.ticks == 8_000
    assert paper.models == {SYMBOL: "1"}
    assert paper.decisions > 100
    assert paper.fills > 0
    with open_table_store(TableStoreConfig.from_settings(settings)) as tables:
        fills = Ledger(tables).load(2**62).fills
    assert len(fills) == paper.fills
    assert {fill.model_version for fill in fills} == {1}
