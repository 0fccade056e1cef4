"""The live half of the demo: the platform's services running together for a short session.

After the backfilled days, the models and the paper day, the demo runs what ``tradegraph run`` runs: the
simulated exchange serving its websocket and REST API on 127.0.0.1, the streamer reading it, the loader
storing the ticks, and the paper executor trading the champions the demo just promoted, all on the
embedded defaults. The exchange's clock starts where the demo's history ends (today, 00:00 UTC) and runs
``speed`` times real time, so the executor's features warm up from live bars and it trades within the
session.
"""

from __future__ import annotations

import datetime as dt
import threading
import time

from tqdm import tqdm

from resources.bus.factory import TickBusConfig, open_tick_bus
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.core.settings import Settings
from trading_assets.core.time import US_PER_SECOND, day_start_us
from trading_assets.services.pipeline import PipelineConfig, PipelineSummary, run_pipeline


def live_start_us(now: dt.datetime, *, seconds: float, speed: float) -> int:
    """Exchange time the live session starts at: today's midnight (where the demo's days end), or early
    enough that the session's last trade is not in the future when the demo runs just after midnight."""
    now_us = int(now.timestamp() * US_PER_SECOND)
    return min(day_start_us(now.date()), now_us - int(seconds * speed * US_PER_SECOND))


def live_session(
    settings: Settings, *, seconds: float, speed: float, rate: float, progress: bool = True
) -> PipelineSummary:
    """Run exchange, streamer, loader and paper executor for ``seconds``; return the run's summary."""
    config = PipelineConfig(
        simulate=True,
        rate=rate,
        speed=speed,
        sim_start_us=live_start_us(dt.datetime.now(dt.UTC), seconds=seconds, speed=speed),
        duration_s=seconds,
        execute=True,
    )
    stop = threading.Event()
    done = threading.Event()
    ticker = threading.Thread(
        target=_show_time, args=(seconds, done, progress), name="demo-live-progress", daemon=True
    )
    ticker.start()
    try:
        with (
            open_tick_store(TickStoreConfig.from_settings(settings)) as store,
            open_tick_bus(TickBusConfig.from_settings(settings)) as bus,
        ):
            return run_pipeline(settings, bus, store, config, stop)
    finally:
        done.set()
        ticker.join(timeout=5.0)


def _show_time(seconds: float, done: threading.Event, progress: bool) -> None:
    """A progress bar of the session's wall time (the pipeline reports its counts at the end)."""
    started = time.monotonic()
    with tqdm(total=round(seconds), unit="s", desc="live", disable=not progress) as bar:
        while not done.wait(1.0):
            bar.n = min(round(time.monotonic() - started), round(seconds))
            bar.refresh()
