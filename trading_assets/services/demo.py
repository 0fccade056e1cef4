"""The main job on the embedded defaults: simulated trades through the bus into the store, then a summary.

Later issues grow this into the full demo (asset graph, models, backtest, executor); the ingestion part
stays: simulate -> validate -> publish -> load -> seal -> report what landed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
from tqdm import tqdm

from resources.bus.base import TickBus
from resources.service_state import EmbeddedServiceState
from resources.service_state.embedded import embedded_state_path
from resources.tick_store.base import PartitionInfo, TickStore, TradeIdGap
from trading_assets.core.time import US_PER_DAY
from trading_assets.core.validation import validate_table
from trading_assets.market.simulation import MarketConfig, MarketSimulator
from trading_assets.services.heartbeat import HeartbeatWriter, service_instance
from trading_assets.services.loader import Loader, LoaderConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoConfig:
    """What the demo simulates."""

    ticks: int = 1_500_000
    """Trades to simulate in total."""
    days: int = 3
    """UTC days the trades span, ending yesterday."""
    symbols: tuple[str, ...] = MarketConfig().symbols
    """Symbols to simulate."""
    seed: int = 7
    """Seed of the simulated market."""
    batch: int = 50_000
    """Trades per published batch."""
    trend: tuple[tuple[str, float], ...] = (("BTCUSDT", 0.08), ("ETHUSDT", 0.08), ("SOLUSDT", 0.08))
    """Symbols with a planted hidden trend and its strength (see MarketConfig.trend); the others are
    pure random walks, which no model should be allowed to trade."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSummary:
    """What landed in the store."""

    published: int
    """Trades the simulator produced and the bus accepted."""
    rejected: int
    """Trades validation refused."""
    loaded: int
    """Trades the loader inserted."""
    partitions: tuple[PartitionInfo, ...]
    """Day partitions after sealing."""
    gaps: tuple[TradeIdGap, ...]
    """Trade-id gaps found in the sealed days."""
    first_trade_us: int
    """Exchange time of the first trade."""
    last_trade_us: int
    """Exchange time of the last trade."""


def _beat(
    home: Path, service: str, ticks: int, last_trade_us: int | None, *, symbols: tuple[str, ...]
) -> None:
    """Leave the heartbeat the stream-health sensor reads, as the streamer and loader services do; the
    demo's run ends with it, so it says ``stopped``."""
    instance = service_instance(service, venues=("sim",), symbols=symbols, name="demo")
    with EmbeddedServiceState(embedded_state_path(home)) as state:
        HeartbeatWriter(state, instance).beat(
            ticks=ticks, last_trade_time_us=last_trade_us, detail={"demo": 1.0}, status="stopped"
        )


def run_demo(
    store: TickStore,
    bus: TickBus,
    config: DemoConfig,
    *,
    progress: bool = True,
    home: Path | None = None,
) -> DemoSummary:
    """Simulate ``config.ticks`` trades, stream them through ``bus`` into ``store``, seal and summarise.

    With ``home``, the demo's streaming and loading leave their heartbeats there, like the services do,
    so the stream-health sensor reports what ran (and, later, that it stopped)."""
    today = dt.datetime.now(dt.UTC).date()
    start_us = (
        int(dt.datetime.combine(today - dt.timedelta(days=config.days), dt.time(), dt.UTC).timestamp())
        * 1_000_000
    )
    market = MarketConfig(
        symbols=config.symbols,
        seed=config.seed,
        trades_per_second=config.ticks / (config.days * US_PER_DAY / 1e6) * 1.01,
        trend=tuple((symbol, strength) for symbol, strength in config.trend if symbol in config.symbols),
    )
    simulator = MarketSimulator(config=market, start_us=start_us)
    consumer = bus.consumer(group="loader", venues=[market.venue])
    loader = Loader(consumer, store, LoaderConfig(max_rows=200_000, max_wait_s=0.5, poll_timeout_s=0.05))
    published = rejected = 0
    first_us: int | None = None
    last_us = start_us
    with tqdm(total=config.ticks, unit="tick", desc="stream", disable=not progress) as bar:
        while published + rejected < config.ticks:
            batch = simulator.generate(min(config.batch, config.ticks - published - rejected))
            checked = validate_table(batch)
            rejected += len(checked.rejected)
            bus.publish(checked.valid)
            published += checked.valid.num_rows
            if checked.valid.num_rows:
                first_us = (
                    first_us if first_us is not None else pc.min(checked.valid["trade_time_us"]).as_py()
                )
                last_us = pc.max(checked.valid["trade_time_us"]).as_py()
            bus.flush()
            # Interleave loading with streaming, as the two services do in one process.
            loader.run_once()
            bar.update(batch.num_rows)
    loader.drain(idle_s=0.5)
    consumer.close()
    if home is not None:
        _beat(home, "streamer", published, last_us if first_us is not None else None, symbols=config.symbols)
        _beat(
            home,
            "loader",
            loader.stats.ticks,
            last_us if loader.stats.ticks else None,
            symbols=config.symbols,
        )
    partitions = store.partitions()
    gaps: list[TradeIdGap] = []
    for part in tqdm(partitions, desc="seal", unit="day", disable=not progress):
        store.seal(part.day)
        gaps.extend(store.trade_id_gaps(part.day))
    return DemoSummary(
        published=published,
        rejected=rejected,
        loaded=loader.stats.ticks,
        partitions=tuple(store.partitions()),
        gaps=tuple(gaps),
        first_trade_us=first_us if first_us is not None else start_us,
        last_trade_us=last_us,
    )
