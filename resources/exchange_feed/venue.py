"""What a venue adapter is: how to build a venue's live feed and its trade history from a typed config.

Each venue package (``binance/``, ``finnhub/``, ``sim/``) defines one :class:`VenueAdapter`; the registry
(:mod:`resources.exchange_feed.registry`) maps venue names to them. Services, the seal and the Dagster
resource build feeds and histories through the registry and never name a venue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from resources.exchange_feed.base import ExchangeFeed
from resources.exchange_feed.history import TradeHistory


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueConfig:
    """Where one venue is and what to stream from it."""

    venue: str
    """Registry name of the venue, also put in every tick (e.g. ``binance``, ``sim``)."""
    symbols: tuple[str, ...] = ()
    """Symbols to stream, as tradegraph names them (``BTCUSDT``); the adapter maps them to the venue's names."""
    ws_url: str | None = None
    """Websocket base URL; None: the adapter's default."""
    rest_url: str | None = None
    """REST base URL of the trade history; None: the adapter's default."""
    rest_timeout_s: float = 10.0
    """Timeout of one history request."""
    rest_max_attempts: int = 5
    """Attempts per history request (only retryable failures are retried)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedResume:
    """Where a restarted feed resumes (a streamer's saved state for one venue)."""

    last_ids: Mapping[str, int] = field(default_factory=dict)
    """Highest trade id already published, per symbol (venues with ids)."""
    gaps: Mapping[str, Sequence[tuple[int, int]]] = field(default_factory=dict)
    """Trade-id ranges known missing, per symbol, fetched at start."""


FeedFactory = Callable[[VenueConfig, FeedResume], ExchangeFeed]
HistoryFactory = Callable[[VenueConfig], TradeHistory]


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueAdapter:
    """One venue: its name, default endpoints and how to build its feed and its trade history."""

    name: str
    """Registry name, lower case."""
    feed_factory: FeedFactory
    """Builds the live feed from a config whose URLs are filled in (see :meth:`build_feed`)."""
    history_factory: HistoryFactory | None = None
    """Builds the trade history; None for venues without trade ids (nothing to fetch by id)."""
    default_ws_url: str | None = None
    """Websocket URL used when the config names none."""
    default_rest_url: str | None = None
    """REST base URL used when the config names none."""
    symbol_name: Callable[[str], str] = str
    """How the venue names a tradegraph symbol (e.g. Finnhub's ``BINANCE:BTCUSDT``)."""

    @property
    def has_history(self) -> bool:
        """Whether the venue has a trade history by id."""
        return self.history_factory is not None

    def resolve(self, config: VenueConfig) -> VenueConfig:
        """``config`` with the default URLs filled in and the symbols in the venue's naming."""
        if config.venue != self.name:
            raise ValueError(f"a config for venue {config.venue!r} given to the {self.name!r} adapter")
        return replace(
            config,
            ws_url=config.ws_url or self.default_ws_url,
            rest_url=config.rest_url or self.default_rest_url,
            symbols=tuple(self.symbol_name(s) for s in config.symbols),
        )

    def build_feed(self, config: VenueConfig, resume: FeedResume | None = None) -> ExchangeFeed:
        """The venue's live feed of ``config.symbols``, resuming from ``resume``."""
        if not config.symbols:
            raise ValueError(f"VenueConfig(venue={config.venue!r}).symbols is empty; e.g. ('BTCUSDT',)")
        return self.feed_factory(self.resolve(config), resume or FeedResume())

    def build_history(self, config: VenueConfig) -> TradeHistory | None:
        """The venue's trade history, or None when the venue has none."""
        if self.history_factory is None:
            return None
        return self.history_factory(self.resolve(config))
