"""The paper executor's configuration, its counters, and what waits for the next checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

from trading_assets.execution.ledger_tables import EquityRow, FillRow, OrderRow, PositionRow, RiskEventRow
from trading_assets.trading.risk_state import RiskLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutorConfig:
    """How the executor runs."""

    symbols: tuple[str, ...]
    """Symbols it trades (each with its champion model)."""
    venues: tuple[str, ...] = ("sim",)
    """Venues whose ticks it reads."""
    group: str = "executor"
    """Its consumer group on the bus."""
    instance: str = "default"
    """Name of this executor (its checkpoint table); one writer per name."""
    lateness_ms: int = 2_000
    """How late (exchange time) a trade may arrive and still count in its bar."""
    initial_cash: float = 100_000.0
    """Cash of a new paper account."""
    limits: RiskLimits = field(default_factory=RiskLimits)
    """Risk limits."""
    model_poll_s: float = 30.0
    """Seconds between registry polls for new champions."""
    checkpoint_s: float = 5.0
    """Seconds between checkpoints (and offset commits)."""
    poll_timeout_s: float = 0.2
    """Longest wait for ticks in one poll."""
    max_records: int = 500
    """Bus records per poll."""
    bus_retry_s: float = 1.0
    """Seconds to wait after the bus failed a poll (e.g. the broker is restarting) before polling again."""


@dataclass(slots=True)
class ExecutorStats:
    """What the executor did since it started."""

    ticks: int = 0
    decisions: int = 0
    orders: int = 0
    denials: int = 0
    fills: int = 0
    late_ticks: int = 0
    checkpoints: int = 0
    bus_failures: int = 0
    registry_failures: int = 0
    store_failures: int = 0


@dataclass(slots=True)
class Unsaved:
    """What happened since the last checkpoint that stored, waiting for the next one to write it."""

    orders: list[OrderRow] = field(default_factory=list)
    fills: list[FillRow] = field(default_factory=list)
    positions: list[PositionRow] = field(default_factory=list)
    equity: list[EquityRow] = field(default_factory=list)
    events: list[RiskEventRow] = field(default_factory=list)

    def extend(self, later: Unsaved) -> None:
        """Append what ``later`` holds (what happened after this) to this."""
        self.orders += later.orders
        self.fills += later.fills
        self.positions += later.positions
        self.equity += later.equity
        self.events += later.events
