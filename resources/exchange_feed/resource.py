"""Venue REST history as a Dagster resource: the seal of a day fills trade-id gaps from it."""

from __future__ import annotations

import dagster as dg

from resources.exchange_feed.rest import BinanceRestClient


class VenueHistoryResource(dg.ConfigurableResource):
    """REST clients for the venues that have trade-id history (Binance and the simulated exchange)."""

    binance_rest_url: str | None = None
    """Binance REST base; unset: TRADEGRAPH_BINANCE_REST_URL."""
    sim_rest_url: str | None = None
    """Simulated exchange REST base; unset: TRADEGRAPH_SIM_REST_URL."""
    timeout_s: float = 10.0
    """Timeout of one request."""
    max_attempts: int = 5
    """Attempts per request; only rate limits, server errors and connection errors are retried."""
    without_history: list[str] = []  # noqa: RUF012 (pydantic copies field defaults)
    """Venues not to ask (e.g. ``sim`` when its ticks were generated in-process, with no exchange to ask)."""

    def client_for(self, venue: str) -> BinanceRestClient | None:
        """A client for ``venue``'s trade history, or None when the venue has none (Finnhub)."""
        from trading_assets.core.settings import Settings

        settings = Settings.from_env()
        urls = {
            "binance": self.binance_rest_url or settings.binance_rest_url,
            "sim": self.sim_rest_url or settings.sim_rest_url,
        }
        url = None if venue in self.without_history else urls.get(venue)
        return (
            None
            if url is None
            else BinanceRestClient(url, timeout_s=self.timeout_s, max_attempts=self.max_attempts)
        )
