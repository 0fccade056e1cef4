"""The ftp and soap kinds end to end: server -> poller -> bus -> source loader -> table, on the embedded
systems and on Kafka (Tansu) + ClickHouse 18.16, with a crash that repeats a file and a bad checksum."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path

import pyarrow as pa

from resources.bus.base import TickBus
from resources.service_state.embedded import EmbeddedServiceState
from resources.sources.base import Source, SourceSpec
from resources.sources.registry import build_source
from resources.table_store.base import TableStore
from testkit.soap_prices import Price, SoapPriceService
from tests.trading_assets.services.sources_support import FAST, poll_until_done
from trading_assets.services.energy_sim.ftp_drop import (
    FtpDropServer,
    day_drops,
    publish_file,
    sha256_line,
    write_data_file,
    write_sidecar,
)
from trading_assets.services.energy_sim.intraday_trades import CSV_COLUMNS
from trading_assets.services.source_loader import GROUP, SourceLoader, SourceLoaderConfig
from trading_assets.services.source_poller import SourcePoller
from trading_assets.sources.tables import source_table
from trading_assets.sources.versions import latest_as_of

DAY = dt.date(2026, 1, 6)


def _load(bus: TickBus, store: TableStore, spec: SourceSpec, *, rows: int) -> SourceLoader:
    with bus.record_consumer(group=f"{GROUP}-{spec.name}", topics=[spec.topic]) as consumer:
        loader = SourceLoader(consumer, store, bus, [spec], SourceLoaderConfig(max_wait_s=0.05))
        deadline = time.monotonic() + 60
        while loader.stats.rows < rows and time.monotonic() < deadline:
            loader.run_once()
        loader.flush()
        loader.drain(idle_s=1.0, timeout_s=30)
    return loader


def _stored(store: TableStore, spec: SourceSpec) -> pa.Table:
    return store.read(source_table(spec), start_us=0, end_us=2**62)


def _ftp_source(server: FtpDropServer, name: str) -> Source:
    return build_source(
        "ftp",
        {
            "name": name,
            "host": "127.0.0.1",
            "port": server.port,
            "user": server.user,
            "password": server.password,
            "columns": CSV_COLUMNS,
            "time_column": "trade_time",
            "series": ["area", "product"],
            "timeout_s": 5,
        },
    )


def test_ftp_drops_are_stored_once_through_a_crash_that_repeats_a_file_and_a_bad_checksum(
    systems: tuple[TickBus, TableStore], tmp_path: Path
) -> None:
    bus, store = systems
    name = f"id_trades_{uuid.uuid4().hex[:6]}"
    drops = day_drops(DAY, seed=3, trades=1_500, window_s=4 * 3600)
    root = tmp_path / "drop"
    root.mkdir()
    for drop in drops:
        publish_file(root, drop)
    # One upload whose bytes do not match its sidecar yet: rejected, not stored.
    write_data_file(root, "intraday_trades_DE_late.csv", drops[0].data[:100])
    write_sidecar(root, "intraday_trades_DE_late.csv", sha256_line("x", b"the whole file"))
    state = EmbeddedServiceState(tmp_path / "state.sqlite")

    with FtpDropServer(root) as server:
        first = SourcePoller(_ftp_source(server, name), bus, state, FAST)
        first.step()
        saved = first.cursor
        first.step()  # the second file is on the bus and its cursor saved ...
        state.save_cursor(first.instance, saved)  # ... but the crash came first: the saved cursor is older
        first.source.close()
        restarted = SourcePoller(_ftp_source(server, name), bus, state, FAST)
        poll_until_done(restarted)
        restarted.source.close()

    spec = restarted.source.spec
    loader = _load(bus, store, spec, rows=1_500)
    stored = _stored(store, spec)
    assert stored.num_rows == 1_500
    assert len(set(stored.column("trade_id").to_pylist())) == 1_500
    assert loader.stats.repeats == drops[1].rows  # the repeated file, dropped by key
    letters = [letter for letter in bus.dead_letters() if letter.topic == spec.topic]
    assert len(letters) == 1  # reported once, although every later poll read it again
    assert all("intraday_trades_DE_late.csv: SHA-256" in letter.reason for letter in letters)


def test_soap_revisions_are_stored_as_versions_and_latest_as_of_never_sees_a_later_one(
    systems: tuple[TickBus, TableStore], tmp_path: Path
) -> None:
    bus, store = systems
    name = f"da_prices_{uuid.uuid4().hex[:6]}"
    day = dt.datetime(2026, 1, 6, tzinfo=dt.UTC)
    first_issue, revision = day - dt.timedelta(hours=12), day - dt.timedelta(hours=2)
    state = EmbeddedServiceState(tmp_path / "state.sqlite")
    with SoapPriceService() as service:
        service.publish(Price("DE", day + dt.timedelta(hours=h), 50.0 + h, first_issue) for h in range(24))
        options = {
            "name": name,
            "wsdl": service.wsdl,
            "operation": "GetPrices",
            "arguments": {"area": "DE"},
            "cursor_argument": "since",
            "cursor_column": "published",
            "columns": {"area": "string", "period_start": "time", "price": "float64", "published": "time"},
            "time_column": "period_start",
            "version_column": "published",
            "key": ["area", "period_start", "published"],
            "series": ["area"],
            "periods_per_day": 24,
            "timeout_s": 5,
        }
        poller = SourcePoller(build_source("soap", options), bus, state, FAST)
        poll_until_done(poller)
        service.publish(Price("DE", day + dt.timedelta(hours=h), 90.0 + h, revision) for h in range(6))
        poll_until_done(poller)
        poller.source.close()

    spec = poller.source.spec
    _load(bus, store, spec, rows=30)
    stored = _stored(store, spec)
    assert stored.num_rows == 30
    us = 1_000_000
    between = int((revision - dt.timedelta(hours=1)).timestamp()) * us
    before = latest_as_of(spec, stored, as_of_us=between)
    after = latest_as_of(spec, stored, as_of_us=int(revision.timestamp()) * us)
    assert sorted(before.column("price").to_pylist()) == [50.0 + h for h in range(24)]
    assert sorted(after.column("price").to_pylist()) == sorted(
        [90.0 + h for h in range(6)] + [50.0 + h for h in range(6, 24)]
    )
