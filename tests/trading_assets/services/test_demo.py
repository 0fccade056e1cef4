import datetime as dt
from pathlib import Path

from resources.bus.factory import TickBusConfig, open_tick_bus
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.cli import main
from trading_assets.core.time import day_start_us
from trading_assets.demo_live import live_start_us
from trading_assets.services.demo import DemoConfig, run_demo
from trading_assets.services.heartbeat import read_heartbeat


def test_demo_lands_every_simulated_trade_once_across_its_days(tmp_path: Path) -> None:
    store = open_tick_store(TickStoreConfig(embedded_dir=tmp_path / "ticks"))
    bus = open_tick_bus(TickBusConfig())

    summary = run_demo(store, bus, DemoConfig(ticks=30_000, days=2, batch=7_000), progress=False)

    assert summary.published == 30_000
    assert summary.rejected == 0
    assert summary.loaded == 30_000
    assert len(summary.partitions) == 2
    assert sum(p.rows for p in summary.partitions) == 30_000
    assert summary.gaps == ()
    assert summary.first_trade_us < summary.last_trade_us


def test_demo_command_streams_runs_the_asset_graph_then_the_services_live(
    tmp_path: Path, monkeypatch, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    code = main(["demo", "--ticks", "5000", "--days", "1", "--quiet", "--live-seconds", "4"])

    out = capsys.readouterr().out
    assert code == 0
    assert "published 5,000  rejected 0  loaded 5,000" in out
    assert "trade-id gaps: 0" in out
    # 7 checks: 4 of the seal, the day's coverage, bars reconcile, archive rows; none failed.
    (day_line,) = [line for line in out.splitlines() if line.split()[-2:-1] in (["7/0"], ["6/0"])]
    passed, failed = map(int, day_line.split()[-2].split("/"))
    warned = 0 if day_line.split()[-1] == "-" else int(day_line.split()[-1])
    assert (passed + warned, failed) == (7, 0)
    assert day_line.split()[1] == "5,000"  # sealed ticks of the day
    assert (tmp_path / "archive").is_dir()
    assert (tmp_path / "dagster" / "dagster.yaml").is_file()
    # The live session ran the services together and stored everything the streamer published.
    (live,) = [line for line in out.splitlines() if line.startswith("exchange trades ")]
    published, loaded = (
        int(live.split(word)[1].split()[0].replace(",", "")) for word in ("published", "loaded")
    )
    assert published == loaded > 0
    assert "trade-id gaps still open: none" in out
    assert f"paper executor: {published:,} ticks" in out
    # The streaming and loading left the heartbeats the stream-health sensor reads.
    beats = {service: read_heartbeat(tmp_path, service) for service in ("streamer", "loader")}
    assert all(beat is not None and beat.ticks > 0 for beat in beats.values()), beats


def test_bad_setting_stops_the_command_with_the_variable_named(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRADEGRAPH_STORE", "postgres")

    code = main(["demo", "--ticks", "10"])

    assert code == 2
    assert "TRADEGRAPH_STORE='postgres'" in capsys.readouterr().err


def test_the_live_session_starts_where_the_demos_days_end() -> None:
    now = dt.datetime(2026, 3, 4, 15, 0, tzinfo=dt.UTC)

    assert live_start_us(now, seconds=45, speed=120) == day_start_us(now.date())


def test_the_live_session_never_runs_into_the_future_just_after_midnight() -> None:
    now = dt.datetime(2026, 3, 4, 0, 30, tzinfo=dt.UTC)

    start = live_start_us(now, seconds=45, speed=120)

    # 45 s at 120x is 90 minutes of market: it starts 90 minutes before now, in the day before.
    assert start == int(now.timestamp() * 1_000_000) - 90 * 60 * 1_000_000
