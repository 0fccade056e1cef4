"""Configuration of the simulated exchange: the market it plays, how fast, and which faults it injects.

Both dataclasses validate themselves on construction and raise ``ValueError`` naming the bad setting,
so a wrong command line fails at start rather than deep inside the event loop.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")


def _check_probability(name: str, value: float) -> None:
    if not (0.0 <= value <= 1.0) or math.isnan(value):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")


def _check_positive_or_none(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{name} must be positive seconds or None (off), got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultConfig:
    """What goes wrong on the websockets, and how often. Every fault is counted in ``/sim/stats``."""

    p_skip: float = 0.0
    """Probability that a trade is not sent on the websockets (it stays in the REST history)."""
    p_duplicate: float = 0.0
    """Probability that a trade's frame is sent twice in a row."""
    p_reorder: float = 0.0
    """Probability that a trade is swapped with the next trade of the same symbol."""
    p_garbage: float = 0.0
    """Probability, per trade, that a garbage frame (non-JSON, truncated JSON or wrong fields) follows it."""
    drop_every_s: float | None = None
    """Abort every websocket (no close frame) every this many wall seconds; None: never."""
    p_drop_per_s: float = 0.0
    """Probability, per wall second, that every websocket is aborted."""
    ping_interval_s: float | None = 20.0
    """Wall seconds between websocket ping frames (opcode 0x9) to every client; None: no pings."""
    finnhub_ping_interval_s: float | None = 15.0
    """Wall seconds between Finnhub ``{"type":"ping"}`` messages; None: no ping messages."""

    def __post_init__(self) -> None:
        for name in ("p_skip", "p_duplicate", "p_reorder", "p_garbage", "p_drop_per_s"):
            _check_probability(name, getattr(self, name))
        for name in ("drop_every_s", "ping_interval_s", "finnhub_ping_interval_s"):
            _check_positive_or_none(name, getattr(self, name))

    def to_json(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict (``/sim/faults`` and ``/sim/stats``)."""
        return dataclasses.asdict(self)

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """A copy with ``changes`` applied; unknown names or bad values raise ``ValueError``."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ValueError(f"unknown fault settings {unknown}; known: {sorted(known)}")
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            if isinstance(value, bool) or (value is not None and not isinstance(value, (int, float))):
                raise ValueError(f"fault setting {name} must be a number or null, got {value!r}")
            if value is None and name.startswith("p_"):
                raise ValueError(f"fault setting {name} must be a number, got null")
            coerced[name] = None if value is None else float(value)
        return dataclasses.replace(self, **coerced)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExchangeSimConfig:
    """Everything the simulated exchange needs: addresses, market, clock, replay file and faults."""

    host: str = "127.0.0.1"
    """Interface both servers bind to."""
    ws_port: int = 0
    """Port of the websocket server (Binance streams and Finnhub); 0 picks a free port."""
    rest_port: int = 0
    """Port of the REST server (Binance /api/v3 and the /sim endpoints); 0 picks a free port."""
    symbols: tuple[str, ...] = DEFAULT_SYMBOLS
    """Symbols of the simulated market (upper case, Binance style)."""
    rate: float = 1_000.0
    """Trades per wall second over all symbols (simulated market: the mean; replay: an upper bound)."""
    speed: float = 1.0
    """Exchange seconds per wall second: 3600 plays an hour of market every second."""
    start_us: int | None = None
    """Exchange time when the market opens (microseconds since epoch, UTC); None: wall time at start.
    A replay starts at the time of the file's first trade instead."""
    max_trades: int | None = None
    """Stop generating after this many trades in total (the servers keep serving); None: unbounded."""
    wait_for_subscribers: int = 0
    """Keep the clock at ``start`` until this many websocket connections have subscribed to something
    (so a test or benchmark sees every trade from the first); 0 starts at once."""
    seed: int = 7
    """Seed of the market and of the fault injector: the same seed gives the same trades and faults."""
    replay_path: Path | None = None
    """A data.binance.vision trades CSV to play instead of the simulated market."""
    replay_symbol: str = "BTCUSDT"
    """Symbol the replayed trades are published under."""
    finnhub_token: str | None = None
    """Token Finnhub clients must present; None accepts any non-empty token (a missing one is refused)."""
    finnhub_trades_per_frame: int = 20
    """Most trades packed into one Finnhub ``trade`` message."""
    batch_interval_s: float = 0.005
    """Wall seconds between generation batches: the added latency stays about this small."""
    max_batch_trades: int = 20_000
    """Most trades released per batch; when the clock runs ahead of this the clock waits (no bursts)."""
    history_per_symbol: int = 2_000_000
    """Trades kept per symbol for REST (older ones are forgotten in blocks)."""
    high_water_bytes: int = 4 * 1024 * 1024
    """A client whose unsent bytes exceed this pauses generation until it has drained (never drops)."""
    slow_client_timeout_s: float = 30.0
    """A client that keeps generation paused this long is disconnected, as Binance drops slow readers."""
    faults: FaultConfig = field(default_factory=FaultConfig)
    """Fault injection settings (changeable at run time through ``POST /sim/faults``)."""

    def __post_init__(self) -> None:
        if not self.symbols and self.replay_path is None:
            raise ValueError("symbols must name at least one symbol")
        for symbol in (*self.symbols, self.replay_symbol):
            if not symbol or not symbol.isalnum() or symbol != symbol.upper():
                raise ValueError(f"symbols must be upper-case alphanumeric like BTCUSDT, got {symbol!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"symbols must not repeat, got {self.symbols}")
        if not self.rate > 0 or math.isinf(self.rate):
            raise ValueError(f"rate must be a positive number of trades per second, got {self.rate!r}")
        if not self.speed > 0 or math.isinf(self.speed):
            raise ValueError(
                f"speed must be a positive number of exchange seconds per second, got {self.speed!r}"
            )
        if self.wait_for_subscribers < 0:
            raise ValueError(f"wait_for_subscribers must be >= 0, got {self.wait_for_subscribers!r}")
        if self.max_trades is not None and self.max_trades < 0:
            raise ValueError(f"max_trades must be >= 0 or None, got {self.max_trades!r}")
        for name in ("ws_port", "rest_port"):
            port = getattr(self, name)
            if not 0 <= port <= 65535:
                raise ValueError(f"{name} must be a TCP port (0 picks a free one), got {port!r}")
        if self.replay_path is not None and not Path(self.replay_path).is_file():
            raise ValueError(f"replay_path {str(self.replay_path)!r} is not a file")
        if self.finnhub_token is not None and not self.finnhub_token:
            raise ValueError("finnhub_token must be non-empty or None")
        positive = (
            "finnhub_trades_per_frame",
            "batch_interval_s",
            "max_batch_trades",
            "history_per_symbol",
            "high_water_bytes",
            "slow_client_timeout_s",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")

    @property
    def market_symbols(self) -> tuple[str, ...]:
        """The symbols actually traded: the replay symbol when replaying, else ``symbols``."""
        return (self.replay_symbol,) if self.replay_path is not None else self.symbols
