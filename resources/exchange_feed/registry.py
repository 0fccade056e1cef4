"""The venues tradegraph knows: name -> :class:`~resources.exchange_feed.venue.VenueAdapter`.

Adding a venue is one package under ``resources/exchange_feed/`` defining an ``ADAPTER`` and one line in
``_BUILT_IN`` below (``sim`` is added exactly that way). Tests and plug-ins may :func:`register_venue`
more at run time.
"""

from __future__ import annotations

from resources.exchange_feed import binance, finnhub, sim
from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.history import TradeHistory
from resources.exchange_feed.venue import FeedResume, VenueAdapter, VenueConfig

_BUILT_IN: tuple[VenueAdapter, ...] = (
    binance.ADAPTER,
    finnhub.ADAPTER,
    sim.ADAPTER,
)

_venues: dict[str, VenueAdapter] = {adapter.name: adapter for adapter in _BUILT_IN}


def register_venue(adapter: VenueAdapter) -> None:
    """Add ``adapter`` under its name; raises ``ValueError`` when another adapter has that name."""
    known = _venues.get(adapter.name)
    if known is not None and known is not adapter:
        raise ValueError(f"venue {adapter.name!r} is already registered")
    _venues[adapter.name] = adapter


def unregister_venue(name: str) -> None:
    """Remove the venue ``name`` (a no-op when it is not registered)."""
    _venues.pop(name, None)


def venue_names() -> tuple[str, ...]:
    """Names of the registered venues, sorted."""
    return tuple(sorted(_venues))


def venue_adapter(name: str) -> VenueAdapter:
    """The adapter of venue ``name``; ``ValueError`` naming the known venues otherwise."""
    try:
        return _venues[name]
    except KeyError:
        raise ValueError(f"unknown venue {name!r}; known venues: {', '.join(venue_names())}") from None


def build_feed(config: VenueConfig, resume: FeedResume | None = None) -> ExchangeFeed:
    """The live feed of ``config.venue``."""
    return venue_adapter(config.venue).build_feed(config, resume)


def build_history(config: VenueConfig) -> TradeHistory | None:
    """The trade history of ``config.venue``, or None for a venue without one."""
    return venue_adapter(config.venue).build_history(config)


def endpoints_from(settings: object, venue: str) -> tuple[str | None, str | None]:
    """``venue``'s websocket and REST URLs from a settings object's ``<venue>_ws_url`` and
    ``<venue>_rest_url`` attributes; None where it has no such attribute (the adapter's default applies),
    so a new venue needs no settings of its own to run at its default endpoints."""
    ws, rest = getattr(settings, f"{venue}_ws_url", None), getattr(settings, f"{venue}_rest_url", None)
    return (ws if isinstance(ws, str) else None), (rest if isinstance(rest, str) else None)


def rest_urls_from(settings: object) -> dict[str, str]:
    """REST base URL per registered venue that has a history and a ``<venue>_rest_url`` setting."""
    urls = {name: endpoints_from(settings, name)[1] for name in venue_names() if _venues[name].has_history}
    return {name: url for name, url in urls.items() if url is not None}
