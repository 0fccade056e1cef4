"""The service-state interface: what long-running services leave for each other and for the Dagster daemon.

Every record is keyed by a :class:`ServiceInstance` (service, venues, symbol set, host and a name), so
two streamers on split symbol sets keep apart what each one needs, and a reader sees each one:

- a **heartbeat** per instance (the newest one replaces the last): alive or stopped, counters;
- the streamer's **restart state** per instance: the last trade id the bus acknowledged and the trade-id
  ranges still missing, per venue and symbol; a restarted streamer looks up its own and nobody else's;
- an append-only record of the **gaps a streamer found and filled live** (venue, symbol, day, ids),
  which the day's seal reports beside the gaps it found itself.

Implementations: :class:`resources.service_state.embedded.EmbeddedServiceState` (one SQLite file, safe
for many processes of one host) and :class:`resources.service_state.clickhouse.ClickHouseServiceState`
(tables every host and the Dagster daemon can reach). Both run the contract suite in
``tests/resources/service_state/``.
"""

from __future__ import annotations

import abc
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self

Status = Literal["running", "stopped"]


class ServiceStateUnavailableError(RuntimeError):
    """The state store cannot be reached now (server down, file locked for too long); retry later."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceInstance:
    """One running copy of a service; :attr:`key` is stable across restarts with the same identity."""

    service: str
    """Service name: ``streamer``, ``loader``."""
    venues: tuple[str, ...]
    """Venues it serves (kept sorted)."""
    symbols: tuple[str, ...]
    """Symbols it serves, kept sorted; empty for a service that handles every symbol (the loader)."""
    host: str
    """Host it runs on."""
    name: str = "main"
    """Name that tells apart instances that would otherwise be the same (``tradegraph stream --instance``)."""

    def __post_init__(self) -> None:
        # Sorted and unique, so the same set in another order is the same instance.
        object.__setattr__(self, "venues", tuple(sorted(set(self.venues))))
        object.__setattr__(self, "symbols", tuple(sorted(set(self.symbols))))
        for name in ("service", "host", "name"):
            value = getattr(self, name)
            if not value or "/" in value:
                raise ValueError(f"ServiceInstance.{name}={value!r} must be non-empty and without '/'")

    @property
    def key(self) -> str:
        """``service/name/host/venues/symbols-digest``: the same for the same identity, on every host."""
        digest = hashlib.sha256(",".join(self.symbols).encode()).hexdigest()[:12] if self.symbols else "all"
        return f"{self.service}/{self.name}/{self.host}/{','.join(self.venues)}/{digest}"

    @property
    def label(self) -> str:
        """A short human description for logs and the UI."""
        shown = ",".join(self.symbols[:4]) + (f" +{len(self.symbols) - 4}" if len(self.symbols) > 4 else "")
        return f"{self.service} {self.name}@{self.host} {','.join(self.venues)} [{shown or 'all symbols'}]"


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat:
    """One beat of a service instance."""

    instance: ServiceInstance
    """Who beat."""
    pid: int
    """Process id of the instance."""
    wall_time_us: int
    """When the beat was written (microseconds since epoch, UTC)."""
    status: Status = "running"
    """``running``, or ``stopped`` after a clean shutdown (a killed instance stays ``running``, silent)."""
    ticks: int
    """Ticks the instance has handled since it started."""
    last_trade_time_us: int | None
    """Exchange time of the newest trade handled, if any."""
    detail: dict[str, float] = field(default_factory=dict)
    """Service-specific figures (dead letters, insert failures, pending rows...)."""

    @property
    def service(self) -> str:
        """The instance's service name."""
        return self.instance.service


@dataclass(frozen=True, slots=True, kw_only=True)
class RestartState:
    """What a restarted streamer needs so that nothing is lost across the restart."""

    last_ids: dict[str, dict[str, int]]
    """Highest trade id acknowledged as durable, per venue and symbol."""
    gaps: dict[str, dict[str, list[tuple[int, int]]]]
    """Trade-id ranges (first, last) known missing and not yet filled, per venue and symbol."""

    @classmethod
    def empty(cls) -> RestartState:
        """The state of a first start."""
        return cls(last_ids={}, gaps={})


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveGapFill:
    """A trade-id gap a streamer found and filled from the venue's history while streaming."""

    instance_key: str
    """:attr:`ServiceInstance.key` of the streamer that filled it."""
    venue: str
    """Venue of the trades."""
    symbol: str
    """Symbol of the trades."""
    day: dt.date
    """UTC day of the first trade filled (the day partition the gap belongs to)."""
    first_id: int
    """First missing trade id."""
    last_id: int
    """Last missing trade id (inclusive)."""
    filled: int
    """Trades fetched and handed to the bus (fewer than the range when the venue itself lacks some)."""
    recorded_us: int
    """When the fill was recorded (microseconds since epoch)."""

    @property
    def missing(self) -> int:
        """Trade ids in the gap."""
        return self.last_id - self.first_id + 1


class ServiceStateStore(abc.ABC):
    """Heartbeats, restart state, source cursors and live gap fills, keyed by service instance; usable as a context manager.

    Writers replace their own instance's heartbeat and restart state; readers in other processes see the
    newest complete record of every instance (never half a write). Errors that a later call may not
    meet (server down) raise :class:`ServiceStateUnavailableError`.
    """

    @abc.abstractmethod
    def write_heartbeat(self, beat: Heartbeat) -> None:
        """Replace the heartbeat of ``beat.instance``."""

    @abc.abstractmethod
    def heartbeats(self, service: str | None = None) -> list[Heartbeat]:
        """The newest heartbeat of every instance (of ``service``), newest first."""

    def heartbeat(self, instance: ServiceInstance) -> Heartbeat | None:
        """The newest heartbeat of ``instance``, or None if it never beat."""
        found = [b for b in self.heartbeats(instance.service) if b.instance.key == instance.key]
        return found[0] if found else None

    @abc.abstractmethod
    def save_restart_state(self, instance: ServiceInstance, state: RestartState) -> None:
        """Replace the restart state of ``instance``."""

    @abc.abstractmethod
    def restart_state(self, instance: ServiceInstance) -> RestartState | None:
        """The restart state ``instance`` saved last, or None if it never saved one."""

    @abc.abstractmethod
    def save_cursor(self, instance: ServiceInstance, cursor: str) -> None:
        """Replace the cursor of ``instance`` (a source poller's position at its source, opaque text)."""

    @abc.abstractmethod
    def cursor(self, instance: ServiceInstance) -> str | None:
        """The cursor ``instance`` saved last, or None if it never saved one."""

    @abc.abstractmethod
    def record_gap_fills(self, fills: Sequence[LiveGapFill]) -> None:
        """Append ``fills`` to the record of live gap fills."""

    @abc.abstractmethod
    def gap_fills(self, day: dt.date) -> list[LiveGapFill]:
        """Live gap fills of ``day``, ordered by venue, symbol and first id."""

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
