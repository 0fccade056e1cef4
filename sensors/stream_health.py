"""The stream-health sensor: reads the streamer's and loader's heartbeats, records an observation of
``tick_stream`` each time, and fails loudly (a failed sensor tick, red in the UI) when ingestion is stale."""

import datetime as dt
from dataclasses import dataclass

import dagster as dg

from trading_assets.core.settings import Settings
from trading_assets.services.heartbeat import Heartbeat, now_us, read_heartbeat

SERVICES = ("streamer", "loader")
_COMMANDS = {"streamer": "stream", "loader": "load"}


class StaleStreamError(RuntimeError):
    """Ingestion has stopped or fallen behind; the message says which service and for how long."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamHealth:
    """How the ingestion services are doing."""

    healthy: bool
    """False when a service is silent or the newest loaded trade is too old."""
    problems: tuple[str, ...]
    """What is wrong, one line per problem, each saying how to look into it."""
    metadata: dict[str, float]
    """Figures to record: heartbeat ages, ticks, freshness."""


def assess(
    beats: dict[str, Heartbeat | None],
    *,
    now: int,
    max_silence_s: float = 60.0,
    max_staleness_s: float = 300.0,
) -> StreamHealth:
    """Judge heartbeats at wall time ``now`` (us): silent services and stale ingestion are problems."""
    problems: list[str] = []
    metadata: dict[str, float] = {}
    for service, beat in beats.items():
        if beat is None:
            problems.append(
                f"{service}: no heartbeat ever written; is `tradegraph {_COMMANDS[service]}` running?"
            )
            continue
        age = (now - beat.wall_time_us) / 1e6
        metadata[f"{service}_heartbeat_age_s"] = round(age, 3)
        metadata[f"{service}_ticks"] = float(beat.ticks)
        if age > max_silence_s:
            problems.append(
                f"{service}: last heartbeat {age:.0f} s ago (pid {beat.pid}); it has stopped or hangs"
            )
    loader = beats.get("loader")
    if loader is not None and loader.last_trade_time_us is not None:
        staleness = (now - loader.last_trade_time_us) / 1e6
        metadata["freshness_s"] = round(staleness, 3)
        if staleness > max_staleness_s:
            problems.append(
                f"newest loaded trade is {staleness:.0f} s old: ingestion is behind or the venue is quiet"
            )
    return StreamHealth(healthy=not problems, problems=tuple(problems), metadata=metadata)


@dg.sensor(
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the streamer and loader heartbeats; records tick_stream observations; fails when stale.",
)
def stream_health_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = Settings.from_env()
    beats = {service: read_heartbeat(settings.home, service) for service in SERVICES}
    if all(beat is None for beat in beats.values()):
        return dg.SensorResult(
            skip_reason=f"no ingestion service has run under {settings.home}: start `tradegraph run` "
            "(or `tradegraph stream` and `tradegraph load`)"
        )
    health = assess(beats, now=now_us())
    observation = dg.AssetObservation(
        asset_key="tick_stream",
        metadata={
            **health.metadata,
            "healthy": health.healthy,
            "problems": "\n".join(health.problems) or "none",
        },
    )
    if not health.healthy:
        # Record what was seen, then fail the tick so the UI and alerting show it.
        context.instance.report_runless_asset_event(observation)
        raise StaleStreamError("; ".join(health.problems))
    return dg.SensorResult(
        asset_events=[observation], skip_reason=f"healthy at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC"
    )
