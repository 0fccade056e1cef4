"""Faults on the Kafka path, every piece a real process: exchange-sim -> tradegraph stream -> Tansu ->
tradegraph load -> ClickHouse. Each test ends with KafkaIngest.finish(): every trade id the exchange
generated is in the store exactly once after sealing."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import pytest

from testkit.harness import drop_connections, log_lines, sim_args, sim_stats, wait_connected, wait_generated
from testkit.servers import ClickHouseServer, KafkaBroker
from tests.faults.stack import KafkaIngest

pytestmark = pytest.mark.slow

RATE = 5_000
TRADES = 30_000
# The kills and the broker restart run on both Kafka clients of the bus (TRADEGRAPH_KAFKA_CLIENT).
CLIENTS = pytest.mark.parametrize("kafka_client", ["kafka-python", "confluent"])


def test_websocket_dropped_mid_stream_loses_nothing(
    fresh_broker: KafkaBroker, kafka_ingest: Callable[..., KafkaIngest]
) -> None:
    # Arrange
    ingest = kafka_ingest(broker=fresh_broker)
    sim = ingest.start_sim(sim_args(rate=RATE, max_trades=TRADES))
    ingest.start_loader()
    ingest.start_streamer()

    # Act: abort the websocket three times while trades flow (no close frame, as a dying link does)
    dropped = 0
    for fraction in (0.2, 0.45, 0.7):
        wait_generated(sim, int(TRADES * fraction), timeout_s=30)
        wait_connected(sim)  # the streamer is back from the previous drop
        dropped += drop_connections(sim)
    stats = ingest.finish()

    # Assert (the store check ran in finish); the drops really happened and were survived by reconnecting
    assert dropped == 3 and stats["faults"]["drop_events"] == 3
    assert sim_stats(sim)["connections"]["opened"]["binance_combined"] == 4


@CLIENTS
def test_streamer_sigkilled_mid_stream_and_restarted_loses_nothing(
    fresh_broker: KafkaBroker, kafka_ingest: Callable[..., KafkaIngest], kafka_client: str
) -> None:
    # Arrange
    ingest = kafka_ingest(broker=fresh_broker, kafka_client=kafka_client)
    # Twice the usual trades: the exchange must still be trading when the restarted streamer (a new
    # process that imports its clients first, a few seconds on a loaded machine) connects.
    trades = 2 * TRADES
    sim = ingest.start_sim(sim_args(rate=RATE, max_trades=trades))
    ingest.start_loader()
    streamer = ingest.start_streamer()
    wait_generated(sim, TRADES // 3, timeout_s=30)

    # Act: kill the streamer (no flush, no final state), let the exchange trade on without it, restart
    streamer.sigkill()
    generated_while_down = wait_generated(sim, TRADES // 2, timeout_s=30)["generated"]
    ingest.start_streamer()
    stats = ingest.finish()

    # Assert (the store check ran in finish); the restarted streamer found what it missed and filled it
    assert generated_while_down < trades and stats["connections"]["opened"]["binance_combined"] >= 2
    assert log_lines(streamer.log_path, r"gap ids \d+\.\.\d+: filled \d+ "), (
        "the restarted streamer filled no gap"
    )


@CLIENTS
def test_loader_sigkilled_between_insert_and_commit_loses_and_doubles_nothing(
    fresh_broker: KafkaBroker, kafka_ingest: Callable[..., KafkaIngest], kafka_client: str
) -> None:
    # Arrange: the loader kills itself (SIGKILL) after its third insert, before committing that batch
    ingest = kafka_ingest(broker=fresh_broker, kafka_client=kafka_client)
    ingest.start_sim(sim_args(rate=RATE, max_trades=TRADES))
    loader = ingest.start_loader(env={"TRADEGRAPH_FAILPOINTS": "loader.after_insert=3"})
    ingest.start_streamer()

    # Act
    exit_code = loader.wait_exit(timeout_s=30)
    loader.forget()
    ingest.start_loader(wait_joined=False)  # no failpoint: it gets the uncommitted batch again
    ingest.finish()

    # Assert (the store check ran in finish); the loader really died at the failpoint
    assert exit_code == -signal.SIGKILL
    assert log_lines(loader.log_path, r"failpoint loader\.after_insert reached")


@CLIENTS
def test_broker_killed_and_restarted_mid_stream_loses_nothing(
    durable_broker: KafkaBroker, kafka_ingest: Callable[..., KafkaIngest], kafka_client: str
) -> None:
    # Arrange: the broker keeps topics, records and group offsets in S3 (moto), as Kafka keeps its log
    # on disk; a broker on memory storage forgets acknowledged records when it restarts, which no
    # client can recover from, so that is not a setting to run in.
    trades, rate = 40_000, 4_000
    ingest = kafka_ingest(broker=durable_broker, kafka_client=kafka_client)
    sim = ingest.start_sim(sim_args(rate=rate, max_trades=trades))
    ingest.start_loader()
    ingest.start_streamer()
    wait_generated(sim, trades // 4, timeout_s=30)

    # Act: kill the broker (SIGKILL), keep it down for two seconds while trades flow, start it again
    # on the same port and storage
    durable_broker.kill()
    time.sleep(2.0)
    generated_at_restart = sim_stats(sim)["generated"]
    durable_broker.start()
    stats = ingest.finish()

    # Assert (the store check ran in finish); the outage was in the middle of the stream
    assert trades // 4 <= generated_at_restart < stats["generated"] == trades


def test_clickhouse_stopped_for_ten_seconds_loses_nothing(
    fresh_broker: KafkaBroker, own_clickhouse: ClickHouseServer, kafka_ingest: Callable[..., KafkaIngest]
) -> None:
    # Arrange: slower and longer, so the exchange keeps trading through the whole outage
    trades, rate = 60_000, 3_000
    ingest = kafka_ingest(broker=fresh_broker, clickhouse=own_clickhouse)
    sim = ingest.start_sim(sim_args(rate=rate, max_trades=trades))
    loader = ingest.start_loader()
    ingest.start_streamer()
    wait_generated(sim, trades // 4, timeout_s=30)

    # Act: stop ClickHouse for 10 s while streaming goes on, start it again (same ports, same data)
    own_clickhouse.stop()
    time.sleep(10.0)
    generated_during_outage = sim_stats(sim)["generated"]
    own_clickhouse.start()
    ingest.finish(timeout_s=120)

    # Assert (the store check ran in finish); the loader held its batch and retried meanwhile
    assert generated_during_outage < trades, "the outage did not overlap the stream"
    assert log_lines(loader.log_path, r"store unavailable .* holding \d+ ticks")


def test_exchange_duplicates_reorders_skips_and_garbage_lose_and_double_nothing(
    fresh_broker: KafkaBroker, kafka_ingest: Callable[..., KafkaIngest]
) -> None:
    # Arrange
    faults = ["--p-duplicate", "0.01", "--p-reorder", "0.01", "--p-skip", "0.005", "--p-garbage", "0.002"]
    ingest = kafka_ingest(broker=fresh_broker)
    ingest.start_sim(sim_args(rate=RATE, max_trades=TRADES, faults=faults))
    ingest.start_loader()
    ingest.start_streamer()

    # Act
    stats = ingest.finish()

    # Assert (the store check ran in finish); every fault happened, every garbage frame is a dead letter
    injected = stats["faults"]
    assert injected["duplicated"] > 0 and injected["reordered"] > 0 and injected["skipped"] > 0
    assert injected["garbage_total"] > 0
    assert ingest.dead_letters() == injected["garbage_total"]
