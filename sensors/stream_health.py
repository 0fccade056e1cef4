"""The stream-health sensor: reads every streamer's, loader's and source poller's heartbeat from the service-state store,
records one observation of ``tick_stream`` per evaluation with each instance's state, and fails loudly
(a failed sensor tick, red in the UI) when any instance is dead, even while others are alive, or when
ingestion is stale.

An instance is *alive* while it beats, *stopped* after a clean shutdown (its last beat says so; not a
problem), and *dead* when it stopped beating without saying so (killed, hung, host gone).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import dagster as dg

from resources.service_state import Heartbeat, ServiceInstance
from resources.service_state.resource import ServiceStateResource
from trading_assets.services.heartbeat import now_us

SERVICES = ("streamer", "loader")
"""Services that must run: ingestion is unhealthy without a live instance of each."""
SOURCE_SERVICES = ("source", "source_loader")
"""Source pollers and the source loader (`tradegraph sources run`): optional, but watched once they ran."""
WATCHED = SERVICES + SOURCE_SERVICES
FAILING_SOURCE_FETCHES = 3
"""A source poller whose last this many fetches all failed is reported (its heartbeat counts them)."""
_COMMANDS = {"streamer": "stream", "loader": "load"}

InstanceStatus = Literal["alive", "dead", "stopped"]


class StaleStreamError(RuntimeError):
    """Ingestion has stopped or fallen behind; the message names each instance and how long."""


@dataclass(frozen=True, slots=True, kw_only=True)
class InstanceHealth:
    """How one service instance is doing."""

    instance: ServiceInstance
    """The instance."""
    status: InstanceStatus
    """``alive``, ``dead`` (silent without a clean stop) or ``stopped`` (cleanly)."""
    heartbeat_age_s: float
    """Seconds since its last heartbeat."""
    beat: Heartbeat
    """Its last heartbeat."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamHealth:
    """How the ingestion services are doing."""

    healthy: bool
    """False when an instance is dead, a service has no live instance, or the newest loaded trade is old."""
    problems: tuple[str, ...]
    """What is wrong, one line per problem, each naming the instance and how to look into it."""
    instances: tuple[InstanceHealth, ...]
    """Every instance that ever beat, services in :data:`SERVICES` order, then by key."""
    metadata: dict[str, float]
    """Figures to record: instance counts, ticks of live instances, freshness."""


def assess(
    beats: Sequence[Heartbeat],
    *,
    now: int,
    max_silence_s: float = 60.0,
    max_staleness_s: float = 300.0,
) -> StreamHealth:
    """Judge every instance's heartbeat at wall time ``now`` (us)."""
    problems: list[str] = []
    instances: list[InstanceHealth] = []
    order = {service: i for i, service in enumerate(WATCHED)}
    for beat in sorted(beats, key=lambda b: (order.get(b.service, len(order)), b.instance.key)):
        age = (now - beat.wall_time_us) / 1e6
        status: InstanceStatus = (
            "stopped" if beat.status == "stopped" else "dead" if age > max_silence_s else "alive"
        )
        instances.append(
            InstanceHealth(instance=beat.instance, status=status, heartbeat_age_s=age, beat=beat)
        )
        if status == "dead":
            problems.append(
                f"{beat.instance.label} is dead: last heartbeat {age:.0f} s ago (pid {beat.pid}, "
                f"instance {beat.instance.key}); it was killed or hangs: restart it, or if it was retired "
                f"on purpose, `tradegraph services --retire {beat.instance.key}`"
            )
        failing = beat.detail.get("consecutive_failures", 0.0)
        if status == "alive" and beat.service == "source" and failing >= FAILING_SOURCE_FETCHES:
            problems.append(
                f"source {beat.instance.name} is failing: its last {failing:.0f} fetches failed "
                f"({beat.detail.get('failures', failing):.0f} failures in all); see the poller's log and "
                "tradegraph_source_failures_total for the error"
            )
    metadata: dict[str, float] = {
        "instances_alive": float(sum(i.status == "alive" for i in instances)),
        "instances_dead": float(sum(i.status == "dead" for i in instances)),
        "instances_stopped": float(sum(i.status == "stopped" for i in instances)),
    }
    for service in SERVICES:
        alive = [i for i in instances if i.instance.service == service and i.status == "alive"]
        metadata[f"{service}_ticks"] = float(sum(i.beat.ticks for i in alive))
        if not alive and not any(i.instance.service == service and i.status == "dead" for i in instances):
            problems.append(
                f"{service}: no instance is running; is `tradegraph {_COMMANDS[service]}` running?"
            )
    newest = [
        i.beat.last_trade_time_us
        for i in instances
        if i.instance.service == "loader" and i.status == "alive" and i.beat.last_trade_time_us is not None
    ]
    if newest:
        staleness = (now - max(newest)) / 1e6
        metadata["freshness_s"] = round(staleness, 3)
        if staleness > max_staleness_s:
            problems.append(
                f"newest loaded trade is {staleness:.0f} s old: ingestion is behind or the venue is quiet"
            )
    return StreamHealth(
        healthy=not problems, problems=tuple(problems), instances=tuple(instances), metadata=metadata
    )


def _instances_table(health: StreamHealth) -> str:
    lines = ["| instance | status | heartbeat age (s) | ticks | pid | key |", "|---|---|---|---|---|---|"]
    for i in health.instances:
        lines.append(
            f"| {i.instance.label} | {i.status} | {i.heartbeat_age_s:.1f} | {i.beat.ticks:,} | {i.beat.pid} "
            f"| `{i.instance.key}` |"
        )
    return "\n".join(lines)


def build_stream_health_sensor(
    *,
    name: str = "stream_health_sensor",
    max_silence_s: float = 60.0,
    max_staleness_s: float = 300.0,
    minimum_interval_seconds: int = 30,
) -> dg.SensorDefinition:
    """The sensor, judging an instance dead after ``max_silence_s`` without a heartbeat."""

    @dg.sensor(
        name=name,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Watches every streamer, loader and source instance's heartbeat; records tick_stream "
        "observations; fails when an instance is dead or ingestion is stale.",
    )
    def _sensor(context: dg.SensorEvaluationContext, service_state: ServiceStateResource) -> dg.SensorResult:
        with service_state.open() as state:
            beats = [b for b in state.heartbeats() if b.service in WATCHED]
        if not beats:
            where = service_state.sqlite_path if service_state.backend == "embedded" else "ClickHouse"
            return dg.SensorResult(
                skip_reason=f"no ingestion service has run (service state: {where}): start `tradegraph run` "
                "(or `tradegraph stream` and `tradegraph load`)"
            )
        health = assess(beats, now=now_us(), max_silence_s=max_silence_s, max_staleness_s=max_staleness_s)
        if all(i.status == "stopped" for i in health.instances):
            # Everything stopped cleanly (e.g. a finished `tradegraph run`): nothing is wrong, nothing runs.
            last = max(b.wall_time_us for b in beats)
            return dg.SensorResult(
                skip_reason="no ingestion service is running; the last one stopped cleanly at "
                f"{dt.datetime.fromtimestamp(last / 1e6, dt.UTC):%Y-%m-%d %H:%M:%S} UTC"
            )
        observation = dg.AssetObservation(
            asset_key="tick_stream",
            metadata={
                **health.metadata,
                "healthy": health.healthy,
                "problems": "\n".join(health.problems) or "none",
                "instances": dg.MetadataValue.md(_instances_table(health)),
                "instance_status": dg.MetadataValue.json(
                    {
                        i.instance.key: {
                            "label": i.instance.label,
                            "status": i.status,
                            "heartbeat_age_s": round(i.heartbeat_age_s, 3),
                            "ticks": i.beat.ticks,
                            "pid": i.beat.pid,
                        }
                        for i in health.instances
                    }
                ),
            },
        )
        if not health.healthy:
            # Record what was seen, then fail the tick so the UI and alerting show it.
            context.instance.report_runless_asset_event(observation)
            raise StaleStreamError("; ".join(health.problems))
        return dg.SensorResult(
            asset_events=[observation], skip_reason=f"healthy at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC"
        )

    return _sensor


stream_health_sensor = build_stream_health_sensor()
