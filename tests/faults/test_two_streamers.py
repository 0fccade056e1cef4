"""Two ``tradegraph stream`` processes on split symbol sets, side by side against one exchange, one broker,
one loader and one ClickHouse, with their heartbeats, restart state and live gap fills in the shared
service state on ClickHouse (where every host and the Dagster daemon can read it).

One streamer is killed: the stream-health sensor names it dead while the other stays alive; restarted,
it resumes from its own restart state (never the other's), and the store ends with exactly the trades the
exchange printed, for every symbol. The day's seal then reports the gaps both streamers filled live.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import dagster as dg
import pytest

from resources.exchange_feed.resource import VenueHistoryResource
from resources.service_state import Heartbeat, RestartState, ServiceInstance
from resources.service_state.clickhouse import ClickHouseServiceState
from resources.service_state.resource import ServiceStateResource
from sensors.stream_health import StaleStreamError, build_stream_health_sensor
from testkit.harness import (
    SYMBOLS,
    VENUE,
    TradegraphProcess,
    assert_every_trade_stored_once,
    expected_last_ids,
    log_lines,
    wait_caught_up,
    wait_finished,
    wait_generated,
    wait_store_quiet,
)
from testkit.servers import KafkaBroker
from tests.faults.stack import KafkaIngest
from trading_assets.core.settings import Settings
from trading_assets.definitions import resources
from trading_assets.market.assets import tick_partition
from trading_assets.services.heartbeat import service_instance

pytestmark = pytest.mark.slow

RATE = 4_000
TRADES = 30_000
SPLIT = {"a": SYMBOLS[:2], "b": SYMBOLS[2:]}
MAX_SILENCE_S = 3.0


def _instance(name: str) -> ServiceInstance:
    return service_instance("streamer", venues=(VENUE,), symbols=SPLIT[name], name=name)


def _beat_of(state: ClickHouseServiceState, process: TradegraphProcess, timeout_s: float = 60) -> Heartbeat:
    """Wait for the heartbeat this process writes (its pid) and return it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        beats = [b for b in state.heartbeats("streamer") if b.pid == process.pid]
        if beats:
            return beats[0]
        time.sleep(0.2)
    raise AssertionError(f"{process.name} (pid {process.pid}) wrote no heartbeat within {timeout_s} s")


def test_two_streamers_on_split_symbols_run_side_by_side_and_a_dead_one_is_reported(
    fresh_broker: KafkaBroker, kafka_ingest: Callable[..., KafkaIngest]
) -> None:
    # Arrange: an exchange that starts once both streamers subscribed and skips some trades on the
    # websocket (each streamer finds and fills those gaps live); the service state on ClickHouse
    ingest = kafka_ingest(broker=fresh_broker)
    sim = ingest.start_sim(
        [
            *("--symbols", ",".join(SYMBOLS), "--rate", str(RATE), "--max-trades", str(TRADES)),
            *("--wait-for-clients", "2", "--seed", "11", "--p-skip", "0.002"),
            # Yesterday (a day with a partition to seal), well before midnight
            *("--start", f"{dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)}T12:00:00"),
        ]
    )
    state = ClickHouseServiceState(ingest.clickhouse.url, database=ingest.database)
    for name, symbols in SPLIT.items():
        # As an operator onboarding the venue: each instance's ids start at 1 (see seed_streamer_state).
        state.save_restart_state(
            _instance(name), RestartState(last_ids={VENUE: dict.fromkeys(symbols, 0)}, gaps={})
        )
    env = {"TRADEGRAPH_SERVICE_STATE": "clickhouse"}
    ingest.start_loader(env=env)
    streamers = {
        name: TradegraphProcess(
            ingest.workdir / f"streamer-{name}",
            name=f"streamer-{name}",
            service="streamer",  # ready once it beat, in the service state on ClickHouse
            env=ingest.env(TRADEGRAPH_SYMBOLS=",".join(symbols), **env),
            args=["stream", "--instance", name],
        )
        for name, symbols in SPLIT.items()
    }
    for process in streamers.values():
        ingest.processes.start(process)
    # The trades are a day old: judge liveness only, not freshness.
    sensor = build_stream_health_sensor(max_silence_s=MAX_SILENCE_S, max_staleness_s=10 * 86_400)
    resource = ServiceStateResource(
        backend="clickhouse", clickhouse_url=ingest.clickhouse.url, clickhouse_database=ingest.database
    )

    # Act 1: both stream; both heartbeats are visible, each under its own instance
    beats = {name: _beat_of(state, process) for name, process in streamers.items()}
    wait_generated(sim, TRADES // 3, timeout_s=60)

    # Assert 1
    assert {name: beat.instance for name, beat in beats.items()} == {n: _instance(n) for n in SPLIT}
    with dg.build_sensor_context(
        instance=dg.DagsterInstance.ephemeral(), resources={"service_state": resource}
    ) as context:
        healthy = sensor(context)
    (observation,) = healthy.asset_events
    statuses = observation.metadata["instance_status"].value
    assert statuses[_instance("a").key]["status"] == statuses[_instance("b").key]["status"] == "alive"

    # Act 2: kill streamer a; once it has been silent for longer than the sensor allows, evaluate
    streamers["a"].sigkill()
    killed_at = time.monotonic()
    time.sleep(MAX_SILENCE_S + 1.5)
    instance = dg.DagsterInstance.ephemeral()
    with (
        dg.build_sensor_context(instance=instance, resources={"service_state": resource}) as context,
        pytest.raises(StaleStreamError) as failure,
    ):
        sensor(context)

    # Assert 2: a is named dead, b is alive and not named
    assert time.monotonic() - killed_at < 30, "the check came too late to tell b is still beating"
    assert _instance("a").label in str(failure.value)
    assert _instance("b").label not in str(failure.value)
    (record,) = instance.fetch_observations(dg.AssetKey("tick_stream"), limit=5).records
    statuses = record.asset_observation.metadata["instance_status"].value
    assert statuses[_instance("a").key]["status"] == "dead"
    assert statuses[_instance("b").key]["status"] == "alive"

    # Act 3: restart a; it resumes from its own state and fills what it missed
    saved_a = state.restart_state(_instance("a"))
    streamers["a"].start()
    _beat_of(state, streamers["a"])
    stats = wait_finished(sim, timeout_s=120)
    expected = expected_last_ids(stats)
    wait_caught_up(ingest.store, expected, timeout_s=120)
    exits = {name: process.terminate() for name, process in streamers.items()}
    wait_store_quiet(ingest.store, quiet_s=2.0, timeout_s=30.0)
    loader_exit = ingest.loader.terminate() if ingest.loader is not None else None

    # Assert 3: a's saved state held only a's symbols; every trade of every symbol stored exactly once
    assert saved_a is not None and set(saved_a.last_ids[VENUE]) == set(SPLIT["a"])

    def diagnostics() -> str:
        # The streamers' gap lines say which fills ran; the log tails alone end in the exit's noise.
        gaps = [
            f"{name}: {line}"
            for name, process in streamers.items()
            for line in log_lines(process.log_path, r"gap|missing|restart|WARNING|ERROR")
        ]
        return "\n".join(["--- the streamers' gap lines ---", *gaps, ingest.diagnostics()])

    assert_every_trade_stored_once(
        ingest.store, expected, raw_counts=ingest.raw_counts, diagnostics=diagnostics
    )
    assert exits == {"a": 0, "b": 0} and loader_exit == 0, ingest.diagnostics()
    # Both stopped cleanly; each recorded live gap fills of its own symbols only
    final = {b.instance: b for b in state.heartbeats("streamer")}
    assert {final[_instance(n)].status for n in SPLIT} == {"stopped"}
    fills = [f for part in ingest.store.partitions() for f in state.gap_fills(part.day)]
    by_instance = {n: {f.symbol for f in fills if f.instance_key == _instance(n).key} for n in SPLIT}
    assert stats["faults"]["skipped"] > 0
    assert by_instance["a"] and by_instance["a"] <= set(SPLIT["a"])
    assert by_instance["b"] and by_instance["b"] <= set(SPLIT["b"])

    # The day's seal, on the production store, reports those live fills beside what it found itself
    days = sorted({f.day for f in fills})
    settings = Settings.from_env(
        {
            "TRADEGRAPH_HOME": str(ingest.workdir),
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": ingest.clickhouse.url,
            "TRADEGRAPH_CLICKHOUSE_DATABASE": ingest.database,
        }
    )
    graph = resources(
        settings, venue_history=VenueHistoryResource(rest_urls={"sim": sim.rest_url}), service_state=resource
    )
    for seal_day in days:
        result = dg.materialize([tick_partition], partition_key=seal_day.isoformat(), resources=graph)
        (event,) = result.get_asset_materialization_events()
        metadata = {k: v.value for k, v in event.materialization.metadata.items()}
        day_fills = [f for f in fills if f.day == seal_day]
        assert metadata["gaps_found"] == 0  # the streamers left the seal nothing to fill
        assert metadata["live_gaps_filled"] == len(day_fills)
        assert metadata["live_ids_filled"] == sum(f.filled for f in day_fills) > 0
    state.close()
