from pathlib import Path

from resources.bus.factory import TickBusConfig, open_tick_bus
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.cli import main
from trading_assets.services.demo import DemoConfig, run_demo


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
    (day_line,) = [line for line in out.splitlines() if line.endswith("6/0")]
    assert day_line.split()[1] == "5,000"  # sealed ticks of the day
    assert (tmp_path / "archive").is_dir()
    assert (tmp_path / "dagster").is_dir()


def test_bad_setting_stops_the_command_with_the_variable_named(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRADEGRAPH_STORE", "postgres")

    code = main(["demo", "--ticks", "10"])

    assert code == 2
    assert "TRADEGRAPH_STORE='postgres'" in capsys.readouterr().err
