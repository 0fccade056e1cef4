"""A source end to end: sources file -> poller -> bus -> source loader -> its table, on the embedded
systems and on Kafka (Tansu) + ClickHouse 18.16, with repeats, rejects, outages and restarts caused."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from resources.bus.base import TickBus
from resources.bus.embedded import EmbeddedTickBus
from resources.service_state.embedded import EmbeddedServiceState
from resources.sources.config import parse_sources
from resources.sources.registry import register_kind, unregister_kind
from resources.table_store.base import TableStore
from resources.table_store.embedded import EmbeddedTableStore
from tests.resources.sources import toy
from tests.trading_assets.services.sources_support import FAST, poll_until_done
from trading_assets.services.source_loader import GROUP, SourceLoader, SourceLoaderConfig
from trading_assets.services.source_poller import SourcePoller
from trading_assets.sources.tables import source_table


@pytest.fixture(autouse=True)
def _toy_kind() -> Iterator[None]:
    register_kind(toy.KIND)
    yield
    unregister_kind("toy")


def _source(name: str, **options: object) -> toy.ToySource:
    text = f'[[source]]\nname = "{name}"\nkind = "toy"\n' + "".join(
        f"{key} = {_toml(value)}\n" for key, value in options.items()
    )
    (entry,) = parse_sources(text)
    source = entry.build()
    assert isinstance(source, toy.ToySource)
    return source


def _toml(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(f'"{v}"' for v in value) + "]"
    return str(value)


def _load(loader: SourceLoader, *, rows: int, timeout_s: float = 60.0) -> None:
    """Run ``loader`` until it stored ``rows`` new rows, then one quiet second more (so extras would show)."""
    deadline = time.monotonic() + timeout_s
    while loader.stats.rows < rows and time.monotonic() < deadline:
        loader.run_once()
    loader.flush()
    loader.drain(idle_s=1.0, timeout_s=30)


def _stored(store: TableStore, source: toy.ToySource) -> pa.Table:
    table = source_table(source.spec)
    return store.read(table, start_us=0, end_us=2**62)


def test_every_reading_is_stored_once_and_rejects_go_to_dead_letters(
    systems: tuple[TickBus, TableStore], tmp_path: Path
) -> None:
    bus, store = systems
    name = f"toy_{uuid.uuid4().hex[:6]}"
    source = _source(name, meters=("m1", "m2"), total=100, per_fetch=30, bad_every=10)
    state = EmbeddedServiceState(tmp_path / "state.sqlite")
    poller = SourcePoller(source, bus, state, FAST)

    poll_until_done(poller, limit=50)
    with bus.record_consumer(group=f"{GROUP}-{name}", topics=[source.spec.topic]) as consumer:
        loader = SourceLoader(consumer, store, bus, [source.spec], SourceLoaderConfig(max_wait_s=0.05))
        _load(loader, rows=180)

    stored = _stored(store, source)
    assert stored.num_rows == 2 * 90  # 100 readings per meter, every 10th malformed
    assert poller.stats.records == 180 and poller.stats.rejected == 20
    assert state.cursor(poller.instance) == "100"
    letters = [letter for letter in bus.dead_letters() if letter.topic == source.spec.topic]
    assert len(letters) == 20
    assert all("kwh='NaN'" in letter.reason for letter in letters)


def test_a_crash_before_the_cursor_is_saved_repeats_a_batch_that_is_stored_once(
    systems: tuple[TickBus, TableStore], tmp_path: Path
) -> None:
    bus, store = systems
    name = f"toy_{uuid.uuid4().hex[:6]}"
    state = EmbeddedServiceState(tmp_path / "state.sqlite")
    first = SourcePoller(_source(name, total=90, per_fetch=30), bus, state, FAST)
    first.step()
    first.step()  # readings 0..59 on the bus, cursor "60" saved
    # The crash: the bus has readings 30..59 but the saved cursor still says 30.
    state.save_cursor(first.instance, "30")

    restarted = SourcePoller(_source(name, total=90, per_fetch=30), bus, state, FAST)
    poll_until_done(restarted, limit=50)
    source = restarted.source
    assert isinstance(source, toy.ToySource)
    with bus.record_consumer(group=f"{GROUP}-{name}", topics=[source.spec.topic]) as consumer:
        loader = SourceLoader(consumer, store, bus, [source.spec], SourceLoaderConfig(max_wait_s=0.05))
        _load(loader, rows=90)

    stored = _stored(store, source)
    assert restarted.cursor == "90"
    assert stored.num_rows == 90
    assert sorted(stored.column("kwh").to_pylist()) == [n * 1.5 for n in range(90)]
    assert loader.stats.repeats == 30


def test_an_unavailable_source_is_retried_counted_and_shown_in_the_heartbeat(tmp_path: Path) -> None:
    state = EmbeddedServiceState(tmp_path / "state.sqlite")
    source = _source("toy_down", total=30, per_fetch=30, down_fetches=3)
    with EmbeddedTickBus() as bus:
        poller = SourcePoller(source, bus, state, FAST)
        waits = [poller.step() for _ in range(3)]
        poller.beat()
        failing = state.heartbeat(poller.instance)
        poll_until_done(poller, limit=50)
        poller.beat()
        recovered = state.heartbeat(poller.instance)

    assert waits == [0.01, 0.01, 0.01]  # the provider's Retry-After
    assert failing is not None and failing.detail["consecutive_failures"] == 3.0
    assert recovered is not None and recovered.detail["consecutive_failures"] == 0.0
    assert recovered.detail["failures"] == 3.0 and recovered.ticks == 30
    failures = poller.metrics.registry.get_sample_value(
        "tradegraph_source_failures_total", {"source": "toy_down", "kind": "toy", "failure": "unavailable"}
    )
    assert failures == 3.0


def test_a_record_of_another_shape_goes_to_dead_letters_and_the_rest_is_stored(tmp_path: Path) -> None:
    from resources.sources.codec import encode_records

    source = _source("toy_shape", total=10, per_fetch=10)
    store = EmbeddedTableStore(tmp_path / "tables")
    with EmbeddedTickBus() as bus:
        poller = SourcePoller(source, bus, EmbeddedServiceState(tmp_path / "s.sqlite"), FAST)
        wrong = pa.table({"meter": ["m1"], "reading_time_us": [1]})
        bus.publish_raw(source.spec.topic, b"toy_shape", encode_records("toy_shape", wrong, published_us=0))
        bus.publish_raw(source.spec.topic, b"toy_shape", b"not a source record")
        poll_until_done(poller, limit=50)
        with bus.record_consumer(group=GROUP, topics=[source.spec.topic]) as consumer:
            loader = SourceLoader(consumer, store, bus, [source.spec], SourceLoaderConfig(max_wait_s=0.05))
            loader.drain(idle_s=0.5, timeout_s=30)
        reasons = [letter.reason for letter in bus.dead_letters()]

    assert _stored(store, source).num_rows == 10
    assert len(reasons) == 2
    assert any("missing columns ['published_us', 'kwh']" in reason for reason in reasons)
    assert any("expected b'TGSR'" in reason for reason in reasons)
