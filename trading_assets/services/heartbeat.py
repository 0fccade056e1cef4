"""Service heartbeats: each service instance writes its own to the service-state store.

A heartbeat says an instance is alive (or stopped cleanly) and how far it has come; the stream-health
sensor reads every instance's. The store (:mod:`resources.service_state`) keys them by instance, so two
streamers on split symbol sets beat side by side.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from resources.service_state import (
    EmbeddedServiceState,
    Heartbeat,
    ServiceInstance,
    ServiceStateStore,
    ServiceStateUnavailableError,
    embedded_state_path,
)
from resources.service_state.base import Status

log = logging.getLogger(__name__)

__all__ = [
    "Heartbeat",
    "HeartbeatWriter",
    "now_us",
    "read_heartbeat",
    "read_heartbeats",
    "retire",
    "service_instance",
]


def now_us() -> int:
    """Current wall time in microseconds since epoch."""
    return time.time_ns() // 1_000


def service_instance(
    service: str, *, venues: Sequence[str], symbols: Sequence[str] = (), name: str = "main"
) -> ServiceInstance:
    """The instance ``service`` runs as on this host, for these venues and symbols."""
    return ServiceInstance(
        service=service, venues=tuple(venues), symbols=tuple(symbols), host=socket.gethostname(), name=name
    )


class HeartbeatWriter:
    """Writes one instance's heartbeats; an unreachable store is logged and ridden out, never raised."""

    def __init__(self, store: ServiceStateStore, instance: ServiceInstance) -> None:
        self.store = store
        self.instance = instance
        self._failing = False

    def beat(
        self,
        *,
        ticks: int,
        last_trade_time_us: int | None,
        detail: dict[str, float] | None = None,
        status: Status = "running",
    ) -> bool:
        """Write a heartbeat now; False if the store could not take it (the next beat tries again)."""
        beat = Heartbeat(
            instance=self.instance,
            pid=os.getpid(),
            wall_time_us=now_us(),
            status=status,
            ticks=ticks,
            last_trade_time_us=last_trade_time_us,
            detail=detail or {},
        )
        try:
            self.store.write_heartbeat(beat)
        except ServiceStateUnavailableError as exc:
            # Logged once per outage: a service beats every second.
            if not self._failing:
                log.warning(
                    "%s: heartbeat not written (%s); trying again each beat", self.instance.label, exc
                )
            self._failing = True
            return False
        if self._failing:
            log.info("%s: heartbeats written again", self.instance.label)
        self._failing = False
        return True


def read_heartbeats(home: Path, service: str | None = None) -> list[Heartbeat]:
    """Every instance's newest heartbeat (of ``service``) in the embedded store under ``home``, newest first."""
    with EmbeddedServiceState(embedded_state_path(home)) as store:
        return store.heartbeats(service)


def read_heartbeat(home: Path, service: str) -> Heartbeat | None:
    """The freshest heartbeat of any ``service`` instance in the embedded store under ``home``, or None."""
    beats = read_heartbeats(home, service)
    return beats[0] if beats else None


def retire(store: ServiceStateStore, key: str) -> Heartbeat | None:
    """Mark instance ``key`` as stopped (retired on purpose, e.g. after a symbol split changed), so the
    stream-health sensor stops reporting it dead; its last counters stay. None if no such instance."""
    found = [beat for beat in store.heartbeats() if beat.instance.key == key]
    if not found:
        return None
    beat = found[0]
    retired = Heartbeat(
        instance=beat.instance,
        pid=beat.pid,
        wall_time_us=max(now_us(), beat.wall_time_us + 1),  # newer, so it replaces the last beat
        status="stopped",
        ticks=beat.ticks,
        last_trade_time_us=beat.last_trade_time_us,
        detail=beat.detail,
    )
    store.write_heartbeat(retired)
    return retired
