"""A venue whose REST history holds a known day of trades, for the asset tests that fill gaps from it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyarrow as pa

from resources.exchange_feed.registry import build_history
from resources.exchange_feed.venue import VenueConfig
from trading_assets.core.time import day_bounds_us
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig


@contextmanager
def traded_venue(
    venue: str, day: dt.date, *, symbols: Sequence[str], trades: int
) -> Iterator[tuple[str, pa.Table]]:
    """The simulated exchange, as ``venue``, after it printed ``trades`` trades of ``symbols`` on ``day``
    (from 01:00 UTC): its REST URL and every one of those trades, read back over REST."""
    start_us, _ = day_bounds_us(day)
    config = ExchangeSimConfig(
        symbols=tuple(symbols), rate=20_000, speed=600, start_us=start_us + 3_600_000_000, max_trades=trades
    )
    with ExchangeSim(config) as sim:
        deadline = time.monotonic() + 30
        while not sim.stats()["finished"]:
            assert time.monotonic() < deadline, "the simulated exchange did not finish"
            time.sleep(0.05)
        history = build_history(VenueConfig(venue=venue, rest_url=sim.rest_url))
        assert history is not None
        pages = [
            page.ticks
            for symbol in symbols
            for page in history.trades_by_id(symbol, 1, sim.stats()["symbols"][symbol]["last_id_emitted"])
        ]
        history.close()
        yield sim.rest_url, pa.concat_tables(pages)
