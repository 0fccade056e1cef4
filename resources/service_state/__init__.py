"""Service state: heartbeats, streamer restart state and live gap fills, keyed by service instance, in a
SQLite file (embedded) or ClickHouse (production)."""

from resources.service_state.base import (
    Heartbeat,
    LiveGapFill,
    RestartState,
    ServiceInstance,
    ServiceStateStore,
    ServiceStateUnavailableError,
)
from resources.service_state.embedded import EmbeddedServiceState, embedded_state_path

__all__ = [
    "EmbeddedServiceState",
    "Heartbeat",
    "LiveGapFill",
    "RestartState",
    "ServiceInstance",
    "ServiceStateStore",
    "ServiceStateUnavailableError",
    "embedded_state_path",
]
