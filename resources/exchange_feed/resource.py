"""Venue trade histories as a Dagster resource: the seal of a day fills trade-id gaps from them.

Every field is plain typed config set by whoever builds the resource (``definitions.py`` from the
settings), so the Dagster UI shows the real endpoints; nothing here reads the environment.
"""

from __future__ import annotations

import logging

import dagster as dg

from resources.exchange_feed.history import TradeHistory
from resources.exchange_feed.registry import venue_adapter
from resources.exchange_feed.venue import VenueConfig

log = logging.getLogger(__name__)


class VenueHistoryResource(dg.ConfigurableResource):
    """Trade histories of the venues that have one (Binance and the simulated exchange), built through
    the venue registry; Finnhub has none."""

    rest_urls: dict[str, str] = {}  # noqa: RUF012 (pydantic copies field defaults)
    """REST base URL per venue, e.g. ``{"binance": "https://api.binance.com"}``; a venue not named here
    uses its adapter's default endpoint."""
    timeout_s: float = 10.0
    """Timeout of one request."""
    max_attempts: int = 5
    """Attempts per request; only rate limits, server errors and connection errors are retried."""
    without_history: list[str] = []  # noqa: RUF012 (pydantic copies field defaults)
    """Venues not to ask (e.g. ``sim`` when its ticks were generated in-process, with no exchange to ask)."""

    def history_for(self, venue: str) -> TradeHistory | None:
        """``venue``'s trade history, or None when it has none (Finnhub, a venue in ``without_history``,
        a venue no adapter is registered for)."""
        if venue in self.without_history:
            return None
        try:
            adapter = venue_adapter(venue)
        except ValueError as exc:
            log.warning("no trade history for stored venue %r: %s", venue, exc)
            return None
        return adapter.build_history(
            VenueConfig(
                venue=venue,
                rest_url=self.rest_urls.get(venue),
                rest_timeout_s=self.timeout_s,
                rest_max_attempts=self.max_attempts,
            )
        )
