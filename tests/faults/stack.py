"""The Kafka ingestion path as real processes: exchange-sim -> tradegraph stream -> Tansu -> tradegraph load -> ClickHouse.

:class:`KafkaIngest` owns the processes of one test (the servers are handed in, so a test can restart
its own) and ends every test the same way, :meth:`KafkaIngest.finish`: wait for the exchange to finish,
wait for the store to catch up, stop the streamer and then, once the store is quiet, the loader (so
nothing lands after the seal), and run :func:`~testkit.harness.assert_every_trade_stored_once`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from clickhouse_driver import Client

from resources.bus.factory import TickBusConfig, open_tick_bus
from resources.tick_store.base import TickStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from testkit.exchange_sim import ExchangeSimProcess
from testkit.harness import (
    VENUE,
    Processes,
    TradegraphProcess,
    assert_every_trade_stored_once,
    expected_last_ids,
    log_lines,
    seed_streamer_state,
    sim_stats,
    wait_caught_up,
    wait_finished,
    wait_store_quiet,
)
from testkit.servers import ClickHouseServer, KafkaBroker
from trading_assets.services.heartbeat import read_heartbeat


class KafkaIngest:
    """One test's exchange, streamer and loader, against the given ClickHouse and broker; always closed."""

    def __init__(
        self,
        workdir: Path,
        *,
        clickhouse: ClickHouseServer,
        broker: KafkaBroker,
        kafka_client: str = "kafka-python",
    ) -> None:
        self.workdir = workdir
        self.kafka_client = kafka_client
        self.clickhouse = clickhouse
        self.broker = broker
        self.database = f"faults_{uuid.uuid4().hex[:10]}"  # a fresh database per test
        self.home = workdir / "home"
        self.processes = Processes()
        self.processes.logs[broker.name] = broker.log_path
        self.processes.logs[clickhouse.name] = clickhouse.log_path
        self.sim: ExchangeSimProcess | None = None
        self.streamer: TradegraphProcess | None = None
        self.loader: TradegraphProcess | None = None
        self._store: TickStore | None = None
        seed_streamer_state(self.home)

    # --- processes ---------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """The services' settings: Kafka bus (through ``kafka_client``), ClickHouse store, venue ``sim`` at this test's exchange."""
        assert self.sim is not None, "start the exchange first"
        return {
            "TRADEGRAPH_HOME": str(self.home),
            "TRADEGRAPH_BUS": "kafka",
            "TRADEGRAPH_KAFKA_BOOTSTRAP": self.broker.bootstrap,
            "TRADEGRAPH_KAFKA_CLIENT": self.kafka_client,
            "TRADEGRAPH_STORE": "clickhouse",
            "TRADEGRAPH_CLICKHOUSE_URL": self.clickhouse.url,
            "TRADEGRAPH_CLICKHOUSE_DATABASE": self.database,
            "TRADEGRAPH_VENUES": VENUE,
            "TRADEGRAPH_SIM_WS_URL": self.sim.ws_url,
            "TRADEGRAPH_SIM_REST_URL": self.sim.rest_url,
            **extra,
        }

    def start_sim(self, args: Sequence[str]) -> ExchangeSimProcess:
        """Start the exchange (it holds its clock until the streamer has subscribed)."""
        self.sim = ExchangeSimProcess(self.workdir / "sim", args)
        self.processes.start(self.sim)
        return self.sim

    def start_loader(
        self, *, env: Mapping[str, str] | None = None, args: Sequence[str] = (), wait_joined: bool = True
    ) -> TradegraphProcess:
        """Start (or restart) ``tradegraph load`` (default batching, as deployed, unless ``args`` say else).

        With ``wait_joined`` it returns once the loader has partitions assigned in its consumer group
        (a join takes seconds on Tansu), so it is consuming while the test's faults happen.
        """
        if self.loader is None:
            self.loader = TradegraphProcess(
                self.workdir / "loader",
                name="loader",
                service="loader",
                env=self.env(**(env or {})),
                args=["load", *args],
            )
        self.loader.env = self.env(**(env or {}))
        self.loader.args = ["load", *args]
        # The log is appended to across restarts: only what this start writes counts.
        offset = self.loader.log_path.stat().st_size if self.loader.log_path.exists() else 0
        if self.loader in self.processes:
            self.loader.start()
        else:
            self.processes.start(self.loader)
        if wait_joined:
            deadline = time.monotonic() + 30.0
            while not log_lines(self.loader.log_path, r"Setting newly assigned partitions", offset=offset):
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the loader had no partitions assigned within 30 s\n{self.diagnostics()}"
                    )
                time.sleep(0.1)
        return self.loader

    def start_streamer(self) -> TradegraphProcess:
        """Start (or restart) ``tradegraph stream``."""
        if self.streamer is None:
            self.streamer = TradegraphProcess(
                self.workdir / "streamer",
                name="streamer",
                service="streamer",
                env=self.env(),
                args=["stream"],
            )
            self.processes.start(self.streamer)
        else:
            self.streamer.start()
        return self.streamer

    # --- the store ---------------------------------------------------------------------------------

    @property
    def store(self) -> TickStore:
        """The test's own connection to the store (opened on first use; it reconnects by itself)."""
        if self._store is None:
            self._store = open_tick_store(
                TickStoreConfig(
                    kind="clickhouse",
                    clickhouse_url=self.clickhouse.url,
                    database=self.database,
                )
            )
        return self._store

    def raw_counts(self) -> dict[str, int]:
        """Rows per symbol as ClickHouse counts them, without FINAL or any other dedup."""
        client = Client.from_url(self.clickhouse.url)
        try:
            rows = client.execute(
                f"SELECT symbol, count() FROM {self.database}.ticks WHERE venue = %(venue)s GROUP BY symbol",
                {"venue": VENUE},
            )
        finally:
            client.disconnect()
        return {str(symbol): int(count) for symbol, count in rows}

    def dead_letters(self) -> int:
        """Dead letters of this venue's exchange frames in the broker's dead-letter topic."""
        bus = open_tick_bus(TickBusConfig(kind="kafka", kafka_bootstrap=self.broker.bootstrap))
        try:
            return sum(letter.topic == f"feed.{VENUE}" for letter in bus.dead_letters(timeout_s=10))
        finally:
            bus.close()

    def diagnostics(self) -> str:
        """Exchange stats, heartbeats and the tails of every log, for failure messages."""
        parts = []
        if self.sim is not None and self.sim.pid is not None:
            try:
                stats = sim_stats(self.sim)
                parts.append(f"exchange: generated {stats['generated']}, faults {stats['faults']}")
            except Exception as exc:
                parts.append(f"exchange stats unavailable: {exc!r}")
        for service in ("streamer", "loader"):
            parts.append(f"{service} heartbeat: {read_heartbeat(self.home, service)}")
        parts.append(self.processes.diagnostics())
        return "\n".join(parts)

    # --- the end of every test ---------------------------------------------------------------------

    def finish(self, *, timeout_s: float = 90.0) -> dict:
        """Wait for the exchange to finish and the store to catch up; stop the services; seal and assert.

        Returns the exchange's final stats.
        """
        assert self.sim is not None and self.streamer is not None and self.loader is not None
        stats = wait_finished(self.sim, timeout_s=timeout_s)
        expected = expected_last_ids(stats)
        wait_caught_up(self.store, expected, timeout_s=timeout_s)
        # Stop the streamer first (SIGTERM flushes what is in flight), then let the loader drain
        # whatever is left on the bus (e.g. gap fills that repeat ticks) before it stops too, so nothing
        # can land after the seal below.
        streamer_exit = self.streamer.terminate()
        wait_store_quiet(self.store, quiet_s=2.0, timeout_s=30.0)
        loader_exit = self.loader.terminate()
        assert_every_trade_stored_once(
            self.store, expected, raw_counts=self.raw_counts, diagnostics=self.diagnostics
        )
        assert (streamer_exit, loader_exit) == (0, 0), (
            f"services did not exit cleanly on SIGTERM: streamer {streamer_exit}, loader {loader_exit}\n"
            + self.diagnostics()
        )
        return stats

    def close(self) -> None:
        """Stop every process of this test; close the store connection."""
        try:
            self.processes.close()
        finally:
            if self._store is not None:
                self._store.close()
