from pathlib import Path

from resources.bus.factory import TickBusConfig, open_tick_bus
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.cli import main
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


def test_demo_command_streams_then_runs_the_asset_graph(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    code = main(["demo", "--ticks", "5000", "--days", "1", "--quiet"])

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
    # The demo's streaming and loading left the heartbeats the stream-health sensor reads.
    beats = {service: read_heartbeat(tmp_path, service) for service in ("streamer", "loader")}
    assert {service: beat.ticks for service, beat in beats.items() if beat} == {
        "streamer": 5_000,
        "loader": 5_000,
    }


def test_bad_setting_stops_the_command_with_the_variable_named(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRADEGRAPH_STORE", "postgres")

    code = main(["demo", "--ticks", "10"])

    assert code == 2
    assert "TRADEGRAPH_STORE='postgres'" in capsys.readouterr().err
