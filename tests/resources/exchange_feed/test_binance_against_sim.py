"""The Binance connector against the simulated exchange, in both ways Binance serves trades: the combined
stream URL and the raw ``/ws`` endpoint with the SUBSCRIBE method (servers that offer only that)."""

from collections.abc import Callable
from threading import Thread

import pytest

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.binance import BinanceFeed, BinanceFeedConfig
from tests.resources.exchange_feed.conftest import RecordingSink
from tests.resources.exchange_feed.venue import wait_for
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig, FaultConfig

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
TRADES = 6_000


@pytest.mark.parametrize("path", ["", "/ws"], ids=["combined-stream", "raw-ws-subscribe"])
def test_every_trade_the_exchange_printed_arrives_through_skips_and_duplicates(
    path: str, sink: RecordingSink, run_feed: Callable[[ExchangeFeed], Thread]
) -> None:
    config = ExchangeSimConfig(
        symbols=SYMBOLS,
        rate=20_000,
        max_trades=TRADES,
        wait_for_subscribers=1,
        faults=FaultConfig(p_skip=0.01, p_duplicate=0.01),
    )
    with ExchangeSim(config) as sim:
        feed = BinanceFeed(
            BinanceFeedConfig(
                symbols=SYMBOLS,
                venue="sim",
                ws_base_url=sim.ws_url + path,
                rest_base_url=sim.rest_url,
                gap_grace_s=0.2,
            )
        )
        run_feed(feed)
        stats = sim.stats
        wait_for(lambda: stats()["finished"], timeout_s=30, what="the exchange to print every trade")
        last = {s: stats()["symbols"][s]["last_id_emitted"] for s in SYMBOLS}
        # Up to the last id sent on the wire: a skipped trade after it has no later trade to reveal it to
        # any websocket client (the day's seal fills it from REST).
        wait_for(
            lambda: all(set(sink.ids(s)) >= set(range(1, last[s] + 1)) for s in SYMBOLS),
            timeout_s=30,
            what="every id, with gaps filled from REST",
        )

        assert sum(stats()["symbols"][s]["generated"] for s in SYMBOLS) == TRADES
        assert stats()["faults"]["skipped"] > 0 and stats()["faults"]["duplicated"] > 0
        for symbol in SYMBOLS:
            assert set(sink.ids(symbol)) == set(range(1, last[symbol] + 1))
