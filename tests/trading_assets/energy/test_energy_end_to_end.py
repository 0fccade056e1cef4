"""The energy example end to end, as docs/ENERGY.md runs it, in one process on 127.0.0.1: the energy
simulator (its ENTSO-E API and its FTP drop of intraday trades on one simulated clock), the example's own
sources file (examples/energy/sources.toml, only its URLs pointed at the simulator's ports), the source
pollers and loader on the embedded bus and store, then the Definitions that file gives
(TRADEGRAPH_SOURCES_FILE): the source assets, energy_features per day, energy_model and energy_backtest.

Simulated time: the sources start 2026-11-01, the simulator's clock at 2026-11-05 00:00 UTC. Four days
are backfilled (one request per day), then three days run live, the clock advancing 30 minutes between
polls, so re-issued forecasts arrive as versions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.bus.embedded import EmbeddedTickBus
from resources.service_state.embedded import EmbeddedServiceState
from resources.sources.config import load_sources
from resources.table_store.embedded import EmbeddedTableStore
from tests.trading_assets.services.sources_support import FAST, poll_until_done
from trading_assets.core.settings import Settings
from trading_assets.core.time import US_PER_DAY, day_bounds_us, day_start_us
from trading_assets.definitions import build_definitions
from trading_assets.energy.features import features_table
from trading_assets.services.energy_sim import EntsoeApiServer, ManualClock, MarketShape
from trading_assets.services.energy_sim.ftp_server import FtpDropServer
from trading_assets.services.energy_sim.intraday_trades import intraday_trades
from trading_assets.services.energy_sim.live_drop import ClockedDrop
from trading_assets.services.energy_sim.shapes import FORECAST_ISSUES_H
from trading_assets.services.source_loader import SourceLoader, SourceLoaderConfig
from trading_assets.services.source_poller import SourcePoller
from trading_assets.sources.tables import source_table

pytest.importorskip("pyftpdlib")
# About 40 s of CPU: seven simulated days through every service, then XGBoost and MLflow.
pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "energy" / "sources.toml"
TOKEN = "e2e-token"
PASSWORD = "e2e-ftp"
DE_LU = "10Y1001A1001A82H"
FIRST = dt.date(2026, 11, 1)
NOW = dt.date(2026, 11, 5)  # the simulator's clock at the start
END = dt.date(2026, 11, 8)  # ... and after the live days
BACKFILLED = [FIRST + dt.timedelta(days=n) for n in range(4)]  # 11-01 .. 11-04
FEATURE_DAYS = [FIRST + dt.timedelta(days=n) for n in range(7)]  # 11-01 .. 11-07 (labels complete)
LIVE_FORECAST_DAYS = [dt.date(2026, 11, 6), dt.date(2026, 11, 7)]  # first issue seen live
TRADES_PER_DAY = 1_500
STEP_S = 1800.0
HOUR_US = 3_600_000_000


def _at(day: dt.date, hours: float = 0.0) -> float:
    return day_start_us(day) / 1e6 + hours * 3600


def _us(day: dt.date, hours: float) -> int:
    return day_start_us(day) + int(hours * HOUR_US)


def _day(store: EmbeddedTableStore, table: object, day: dt.date) -> pa.Table:
    start, end = day_bounds_us(day)
    return store.read(table, start_us=start, end_us=end)  # type: ignore[arg-type]


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict[str, object]:
    (event,) = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(key)]
    return {name: value.value for name, value in event.materialization.metadata.items()}


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The simulator and its FTP drop on a manual clock, the example's sources file pointed at them, and
    the embedded systems under a TRADEGRAPH_HOME in tmp."""
    monkeypatch.setenv("ENTSOE_API_KEY", TOKEN)
    monkeypatch.setenv("ENERGY_FTP_PASSWORD", PASSWORD)
    clock = ManualClock(_at(NOW))
    api = EntsoeApiServer(token=TOKEN, clock=clock).start()
    drop = ClockedDrop(
        tmp_path / "drop", clock=clock, first_day=FIRST, trades_per_day=TRADES_PER_DAY, window_s=3600
    )
    drop.publish_due()
    ftp = FtpDropServer(tmp_path / "drop", user="energy", password=PASSWORD).start()
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count('url = "http://127.0.0.1:8780/api"') == 3 and text.count("port = 2121") == 1
    sources_file = tmp_path / "sources.toml"
    sources_file.write_text(
        text.replace("http://127.0.0.1:8780/api", api.url).replace("port = 2121", f"port = {ftp.port}"),
        encoding="utf-8",
    )
    yield {"clock": clock, "drop": drop, "sources_file": sources_file, "home": tmp_path / "home"}
    ftp.stop()
    api.stop()


def _run_sources(example: dict[str, object]) -> None:
    """The pollers and loader of ``tradegraph sources run``, stepped: backfill, then live days."""
    clock, drop = example["clock"], example["drop"]
    assert isinstance(clock, ManualClock) and isinstance(drop, ClockedDrop)
    home = example["home"]
    assert isinstance(home, Path)
    sources = [entry.build() for entry in load_sources(example["sources_file"])]  # type: ignore[arg-type]
    with (
        EmbeddedTickBus() as bus,
        EmbeddedServiceState(home / "state" / "service_state.sqlite") as state,
        EmbeddedTableStore(home / "tables") as store,
    ):
        pollers = [SourcePoller(source, bus, state, FAST) for source in sources]
        specs = [source.spec for source in sources]
        with bus.record_consumer(group="e2e-loader", topics=[spec.topic for spec in specs]) as consumer:
            loader = SourceLoader(consumer, store, bus, specs, SourceLoaderConfig(max_wait_s=0.05))
            for poller in pollers:  # the backfill, up to the simulator's now
                poll_until_done(poller, limit=2_000)
            loader.drain(idle_s=0.3, timeout_s=120)
            while clock.now < _at(END):  # live: the clock moves, the pollers poll
                clock.advance(STEP_S)
                drop.publish_due()
                for poller in pollers:
                    poll_until_done(poller, limit=2_000)
                loader.run_once()
            loader.drain(idle_s=0.3, timeout_s=120)
        for poller in pollers:
            assert poller.stats.rejected == 0, poller.stats
        for source in sources:
            source.close()


def test_the_energy_example_runs_from_the_simulator_to_a_backtested_model(
    example: dict[str, object],
) -> None:
    # Act 1: sources run
    _run_sources(example)

    # Assert: the source tables, day by day
    home = example["home"]
    assert isinstance(home, Path)
    entries = {e.name: e for e in load_sources(example["sources_file"])}  # type: ignore[arg-type]
    shape = MarketShape()
    with EmbeddedTableStore(home / "tables") as store:
        prices = source_table(entries["entsoe_da_prices_de"].spec())
        load = source_table(entries["entsoe_load_de"].spec())
        wind_solar = source_table(entries["entsoe_wind_solar_de"].spec())
        trades = source_table(entries["intraday_trades_de"].spec())
        for day in [FIRST + dt.timedelta(days=n) for n in range(8)]:  # 11-08's prices came 11-07 12:00
            rows = _day(store, prices, day)
            # 24 hours, one version each, published at the auction's result (12:00 the day before)
            assert rows.num_rows == 24, day
            assert set(rows.column("published_us").to_pylist()) == {_us(day, -12)}, day
            assert rows.column("value").to_pylist() == shape.price(DE_LU, day, 60).tolist()
        for day in BACKFILLED:
            # a past day is served as its latest issue only (as the platform does): 96 quarter-hours
            rows = _day(store, load, day)
            assert rows.num_rows == 96
            assert set(rows.column("published_us").to_pylist()) == {_us(day, FORECAST_ISSUES_H[-1])}
            assert _day(store, wind_solar, day).num_rows == 2 * 96  # solar and wind
        for day in LIVE_FORECAST_DAYS:
            # seen live: every issue is a version beside the earlier ones, never overwriting them
            rows = _day(store, load, day)
            issued = set(rows.column("published_us").to_pylist())
            assert issued == {_us(day, h) for h in FORECAST_ISSUES_H}, day
            assert len(set(rows.column("period_start_us").to_pylist())) == 96
            assert rows.num_rows > 96
            for issue, hours in enumerate(FORECAST_ISSUES_H):
                version = rows.filter(pc.equal(rows.column("published_us"), _us(day, hours)))
                expected = shape.forecast("load", DE_LU, day, 15, issue)
                positions = (np.asarray(version.column("period_start_us")) - day_start_us(day)) // (
                    15 * 60_000_000
                )
                # a version holds the periods whose value changed, with the issue's values
                assert np.array_equal(np.asarray(version.column("value")), expected[positions])
        # every trade executed before the simulator's END, exactly once
        stored = store.read(trades, start_us=0, end_us=2**62)
        truth = pa.concat_tables(
            intraday_trades(FIRST + dt.timedelta(days=n), seed=7, trades=TRADES_PER_DAY) for n in range(8)
        )
        truth = truth.filter(pc.less(truth.column("trade_time"), day_start_us(END)))
        assert stored.num_rows == truth.num_rows
        assert sorted(stored.column("trade_id").to_pylist()) == sorted(truth.column("trade_id").to_pylist())

    # Act 2: the Definitions of the sources file, as `dagster asset materialize` would load them
    settings = Settings.from_env(
        {"TRADEGRAPH_HOME": str(home), "TRADEGRAPH_SOURCES_FILE": str(example["sources_file"])}
    )
    defs = build_definitions(settings)
    job = defs.resolve_implicit_global_asset_job_def()
    source_keys = [dg.AssetKey(f"source_{name}") for name in entries]
    for day in FEATURE_DAYS:
        # the source assets and their checks of one backfilled and one live day (each takes a while)
        with_sources = day in (BACKFILLED[-1], LIVE_FORECAST_DAYS[0])
        selection = [*(source_keys if with_sources else []), dg.AssetKey("energy_features")]
        result = job.execute_in_process(partition_key=day.isoformat(), asset_selection=selection)
        assert result.success, day
        checks = result.get_asset_check_evaluations()
        failed = [(c.asset_key.to_user_string(), c.check_name) for c in checks if not c.passed]
        # completeness, duplicates and revisions of each source, and no_lookahead of the features
        assert len(checks) == 3 * (len(selection) - 1) + 1 and failed == [], (day, failed)
        shown = _metadata(result, "energy_features")
        missing = shown["missing_inputs"]
        assert isinstance(missing, dict)
        assert shown["rows"] == 24 and shown["labelled_hours"] == 24, day
        assert missing["da_price"] == 0 and missing["intraday_trades"] == 0, day
        # forecasts: a backfilled day's only version was issued after its decision, so it is not used
        expected_missing = 0 if day in LIVE_FORECAST_DAYS else 24
        assert missing["load_forecast"] == expected_missing, day
        assert missing["wind_solar_forecast"] == expected_missing, day
    with EmbeddedTableStore(home / "tables") as store:
        stored = store.read(features_table("DE"), start_us=0, end_us=2**62)
    assert stored.num_rows == 24 * len(FEATURE_DAYS)
    decision = np.asarray(stored.column("decision_us"))
    for column in ("da_published_us", "load_published_us", "generation_published_us"):
        published = np.asarray(stored.column(column))
        assert (published <= decision).all(), column  # never a value published after its decision
    assert (np.asarray(stored.column("decision_us")) % US_PER_DAY == 12 * HOUR_US).all()

    result = job.execute_in_process(
        asset_selection=[dg.AssetKey("energy_model"), dg.AssetKey("energy_backtest")],
        run_config={
            "ops": {
                "energy_model": {"config": {"train_days": 7, "validation_days": 2, "n_estimators": 40}},
                "energy_backtest": {"config": {"test_days": 3}},
            }
        },
    )

    # Assert: the model registered, the walk-forward backtest scored
    assert result.success
    model = _metadata(result, "energy_model")
    assert model["model"] == "tradegraph-energy-DE v1"
    assert model["window"] == f"{FEATURE_DAYS[0]}..{FEATURE_DAYS[-1]}"
    backtest = _metadata(result, "energy_backtest")
    assert backtest["scored_hours"] == 3 * 24  # the last three days, walk-forward
    for name in ("sharpe", "pnl_eur", "hit_rate", "oos_rmse", "flat_pnl_eur", "always_long_pnl_eur"):
        assert np.isfinite(float(backtest[name])), name  # type: ignore[arg-type]
