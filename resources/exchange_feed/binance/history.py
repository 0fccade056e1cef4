"""Binance's trade history (:class:`~resources.exchange_feed.history.TradeHistory`) over its REST API."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyarrow as pa

from resources.exchange_feed.binance.rest import BinanceRestClient
from resources.exchange_feed.binance.wire import parse_binance_rest_trades
from resources.exchange_feed.history import TradePage, pages_by_id
from resources.exchange_feed.wire import ParsedBatch


class BinanceHistory:
    """Trades by id from ``historicalTrades`` (1000 a page at most) and the newest from ``trades``."""

    def __init__(self, rest: BinanceRestClient, *, venue: str) -> None:
        self.rest = rest
        """The REST client (its base URL says which venue is asked)."""
        self.venue = venue
        """Venue name put in every tick."""

    def __repr__(self) -> str:
        return f"BinanceHistory(venue={self.venue!r}, rest={self.rest!r})"

    def trades_by_id(
        self, symbol: str, first_id: int, last_id: int, *, page_limit: int = 1000
    ) -> Iterator[TradePage]:
        """See :meth:`TradeHistory.trades_by_id`; raises :class:`~resources.exchange_feed.rest.RestError`."""

        def fetch(from_id: int, limit: int) -> ParsedBatch:
            body = self.rest.historical_trades(symbol, from_id=from_id, limit=limit)
            return self._parse(body, symbol)

        return pages_by_id(fetch, first_id=first_id, last_id=last_id, page_limit=page_limit)

    def recent_trades(self, symbol: str, *, limit: int = 1) -> pa.Table:
        """See :meth:`TradeHistory.recent_trades`; malformed items are left out."""
        return self._parse(self.rest.recent_trades(symbol, limit=limit), symbol).ticks

    def close(self) -> None:
        """Release the REST session."""
        self.rest.close()

    def _parse(self, body: bytes, symbol: str) -> ParsedBatch:
        return parse_binance_rest_trades(
            body, symbol=symbol, receive_time_us=time.time_ns() // 1_000, venue=self.venue
        )
