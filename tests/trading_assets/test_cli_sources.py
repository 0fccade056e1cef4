"""``tradegraph sources``: kinds, list and run as a user runs them, against the simulated exchange."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from resources.sources.config import load_sources
from resources.table_store.embedded import EmbeddedTableStore
from testkit.harness import TradegraphProcess
from trading_assets.cli import main
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig
from trading_assets.sources.tables import source_table

SOURCES = """
[[source]]
name = "sim_btc"
kind = "websocket"
url = "{url}/stream?streams=btcusdt@trade"
time_column = "trade_time_us"
key = ["trade_id"]
unwrap = "data"
match = {{ e = "trade" }}
[source.columns]
trade_id = "int64"
price = "float64"
trade_time_us = "time"
[source.fields]
trade_id = "t"
price = "p"
trade_time_us = "T"
"""


def test_kinds_lists_every_kind_and_the_venues(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "kinds"]) == 0
    out = capsys.readouterr().out
    assert "websocket" in out and "sns" in out and "binance" in out


def test_a_missing_or_bad_sources_file_is_refused_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    bad = tmp_path / "bad.toml"
    bad.write_text('[[source]]\nname = "x"\nkind = "nope"\n')

    assert main(["sources", "list"]) == 2
    assert "TRADEGRAPH_SOURCES_FILE" in capsys.readouterr().err
    assert main(["sources", "run", "--file", str(bad)]) == 2
    assert "unknown source kind 'nope'; known kinds:" in capsys.readouterr().err


def test_run_stores_every_trade_of_the_stream_and_list_shows_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: an exchange printing 400 trades once the source subscribed, and a sources file naming it
    config = ExchangeSimConfig(symbols=("BTCUSDT",), rate=400.0, max_trades=400, wait_for_subscribers=1)
    with ExchangeSim(config) as sim:
        path = tmp_path / "sources.toml"
        path.write_text(SOURCES.format(url=sim.ws_url))
        home = tmp_path / "home"
        env = {"TRADEGRAPH_HOME": str(home), "TRADEGRAPH_SOURCES_FILE": str(path)}
        process = TradegraphProcess(
            tmp_path / "run",
            name="sources",
            args=["sources", "run", "--poll-seconds", "0.2"],
            env=env,
            service="source",
        ).start()
        (entry,) = load_sources(path)
        table = source_table(entry.spec())
        store = EmbeddedTableStore(home / "tables")

        # Act: wait for the 400 trades to be stored, then stop it as a user would (SIGTERM)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            days = store.days(table)
            if sum(day.rows for day in days) >= 400:
                break
            time.sleep(0.5)
        code = process.terminate()
        monkeypatch.setenv("TRADEGRAPH_HOME", str(home))
        listed = main(["sources", "list", "--file", str(path)])

    # Assert
    stored = store.read(table, start_us=0, end_us=2**62)
    assert code == 0
    assert stored.num_rows == 400
    assert sorted(stored.column("trade_id").to_pylist()) == list(range(1, 401))
    assert listed == 0
    out = capsys.readouterr().out
    assert "sim_btc (websocket) -> topic sources.sim_btc, table src_sim_btc" in out
