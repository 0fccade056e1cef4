"""Binance spot REST (``https://api.binance.com``; testnet ``https://testnet.binance.vision``): the two
trade lists the feed and the seal read, on the shared :class:`~resources.exchange_feed.rest.RestClient`.

The optional API key travels only as the ``X-MBX-APIKEY`` header, never in a URL, log line or ``repr``.
"""

from __future__ import annotations

from typing import Any

from resources.exchange_feed.rest import RestClient, safe_url


class BinanceRestClient(RestClient):
    """``GET /api/v3/trades`` and ``GET /api/v3/historicalTrades`` of one Binance-protocol venue."""

    def __init__(self, base_url: str, *, api_key: str | None = None, **options: Any) -> None:
        """``options``: those of :class:`RestClient` (timeouts, attempts, backoff, stop event, session)."""
        super().__init__(base_url, headers={"X-MBX-APIKEY": api_key} if api_key else None, **options)
        self._has_key = bool(api_key)

    def __repr__(self) -> str:
        key = "set" if self._has_key else "none"
        return f"BinanceRestClient(base_url={safe_url(self.base_url)!r}, api_key={key})"

    def recent_trades(self, symbol: str, *, limit: int = 1) -> bytes:
        """Raw JSON body of ``GET /api/v3/trades`` (the newest ``limit`` <= 1000 trades, oldest first)."""
        return self.get("/api/v3/trades", {"symbol": symbol, "limit": limit})

    def historical_trades(self, symbol: str, *, from_id: int, limit: int = 1000) -> bytes:
        """Raw JSON body of ``GET /api/v3/historicalTrades`` (at most ``limit`` <= 1000 trades from ``from_id``)."""
        params: dict[str, str | int] = {"symbol": symbol, "fromId": from_id, "limit": limit}
        return self.get("/api/v3/historicalTrades", params)
