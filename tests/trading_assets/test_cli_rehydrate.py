"""`tradegraph rehydrate --day`: an archived day dropped from the store comes back, once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.cli import main
from trading_assets.core.settings import Settings
from trading_assets.core.time import day_start_us
from trading_assets.market.simulation import MarketConfig, MarketSimulator

DAY = dt.date(2025, 3, 4)


def test_rehydrate_brings_back_an_archived_dropped_day_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})
    market = MarketSimulator(
        MarketConfig(seed=3, symbols=("BTCUSDT",)), start_us=day_start_us(DAY) + 3_600_000_000
    )
    ticks = market.generate(2_000)
    archive = open_tick_archive(TickArchiveConfig.from_settings(settings))
    with open_tick_store(TickStoreConfig.from_settings(settings)) as store:
        store.insert(ticks)
        store.seal(DAY)
        archive.write_day(DAY, store.export(DAY))
        store.drop(DAY)
    archive.close()

    first = main(["rehydrate", "--day", DAY.isoformat()])
    second = main(["rehydrate", "--day", DAY.isoformat()])
    missing = main(["rehydrate", "--day", "2025-03-05"])

    with open_tick_store(TickStoreConfig.from_settings(settings)) as store:
        rows = {part.day: part.rows for part in store.partitions()}
    assert (first, second, missing) == (0, 0, 1)
    assert rows == {DAY: ticks.num_rows}
    assert "2025-03-05" in capsys.readouterr().err
