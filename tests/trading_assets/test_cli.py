import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from resources.tick_store.embedded import EmbeddedTickStore
from trading_assets.cli import build_parser, main
from trading_assets.core.time import day_bounds_us
from trading_assets.market.simulation import simulate_day

DAY = dt.date(2025, 2, 3)


def test_every_command_has_help() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]

    assert set(commands) == {"demo", "run", "exchange-sim", "stream", "load", "bars", "services", "settings"}
    for name, sub in commands.items():
        assert sub.format_help().strip(), name


def test_bars_command_matches_an_independent_pandas_computation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    ticks = simulate_day(day_start_us=day_bounds_us(DAY)[0], ticks=30_000)
    store = EmbeddedTickStore(tmp_path / "ticks")
    store.insert(ticks)
    store.insert(ticks.slice(0, 1_000))  # duplicates must not count twice
    out = tmp_path / "bars.csv"

    code = main(["bars", "--day", DAY.isoformat(), "--symbol", "ETHUSDT", "--out", str(out)])

    got = pd.read_csv(out)
    df = ticks.to_pandas()
    df = df[df.symbol == "ETHUSDT"].sort_values(["trade_time_us", "trade_id"])
    df["minute_us"] = df.trade_time_us // 60_000_000 * 60_000_000
    grouped = df.groupby("minute_us")
    expected = pd.DataFrame(
        {
            "open": grouped.price.first(),
            "high": grouped.price.max(),
            "low": grouped.price.min(),
            "close": grouped.price.last(),
            "volume": grouped.quantity.sum(),
            "trades": grouped.size(),
        }
    ).reset_index()
    assert code == 0
    assert list(got.minute_us) == list(expected.minute_us)
    for column in ("open", "high", "low", "close", "trades"):
        assert list(got[column]) == list(expected[column]), column
    assert got.volume.to_numpy() == pytest.approx(expected.volume.to_numpy(), rel=1e-9)


def test_bars_of_a_day_without_ticks_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))

    code = main(["bars", "--day", "2020-01-01"])

    assert code == 1
    assert "no ticks stored for 2020-01-01 in the embedded store" in capsys.readouterr().err
