import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pytest

from resources.table_store.embedded import EmbeddedTableStore
from resources.tick_store.factory import TickStoreConfig, open_tick_store
from trading_assets.cli import build_parser, main
from trading_assets.core.bars import BARS_SCHEMA
from trading_assets.core.time import day_bounds_us
from trading_assets.market.bars import BARS_TABLE, compute_bars_1m
from trading_assets.market.simulation import simulate_day

DAY = dt.date(2025, 2, 3)


def test_every_command_has_help() -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]

    assert set(commands) == {
        "demo",
        "run",
        "exchange-sim",
        "energy-sim",
        "stream",
        "load",
        "execute",
        "bars",
        "services",
        "risk",
        "sources",
        "up",
        "rehydrate",
        "settings",
    }
    for name, sub in commands.items():
        assert sub.format_help().strip(), name


def test_bars_command_prints_the_stored_bars_of_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only the table store holds the day (its ticks were archived and dropped): the stored bars are printed.
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    stored = compute_bars_1m(simulate_day(day_start_us=day_bounds_us(DAY)[0], ticks=5_000))
    EmbeddedTableStore(tmp_path / "tables").write_partition(BARS_TABLE, DAY, stored)
    every, one = tmp_path / "bars.csv", tmp_path / "eth.csv"

    codes = (
        main(["bars", "--day", DAY.isoformat(), "--out", str(every)]),
        main(["bars", "--day", DAY.isoformat(), "--symbol", "ETHUSDT", "--out", str(one)]),
    )

    def read(path: Path) -> list[dict[str, object]]:
        options = pa_csv.ConvertOptions(column_types=BARS_SCHEMA)
        return pa_csv.read_csv(path, convert_options=options).to_pylist()

    assert codes == (0, 0)
    assert read(every) == stored.to_pylist()
    assert read(one) == stored.filter(pc.equal(stored["symbol"], "ETHUSDT")).to_pylist()


def test_bars_command_matches_an_independent_pandas_computation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No bars stored for the day: they are computed from the day's ticks, and the command says so.
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    ticks = simulate_day(day_start_us=day_bounds_us(DAY)[0], ticks=30_000)
    store = open_tick_store(TickStoreConfig(embedded_dir=tmp_path / "ticks"))
    store.insert(ticks)
    store.insert(ticks.slice(0, 1_000))  # duplicates must not count twice
    out = tmp_path / "bars.csv"

    code = main(["bars", "--day", DAY.isoformat(), "--symbol", "ETHUSDT", "--out", str(out)])
    note = capsys.readouterr().err

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
    assert "no stored bars for 2025-02-03 (materialize bars_1m for it to store them)" in note


def test_bars_of_a_symbol_absent_from_the_stored_day_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    stored = compute_bars_1m(simulate_day(day_start_us=day_bounds_us(DAY)[0], ticks=1_000))
    EmbeddedTableStore(tmp_path / "tables").write_partition(BARS_TABLE, DAY, stored)

    code = main(["bars", "--day", DAY.isoformat(), "--symbol", "DOGEUSDT"])

    assert code == 1
    assert "the stored bars of 2025-02-03 have none for DOGEUSDT" in capsys.readouterr().err


def test_bars_of_a_day_without_ticks_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))

    code = main(["bars", "--day", "2020-01-01"])

    assert code == 1
    assert "no bars and no ticks stored for 2020-01-01 in the embedded store" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options, named",
    [
        (["--p-skip", "0.1"], "--p-skip"),
        (["--drop-every", "2", "--p-garbage", "0.01"], "--drop-every, --p-garbage"),
        (["--rate", "500"], "--rate"),
    ],
)
def test_run_without_the_simulator_refuses_the_simulators_options_naming_them(
    options: list[str],
    named: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))

    code = main(["run", "--no-sim", *options])

    assert code == 2
    assert f"{named} only apply to the simulated exchange" in capsys.readouterr().err


def test_an_unknown_venue_stops_the_command_at_start_naming_the_setting_and_the_known_venues(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEGRAPH_VENUES", "sim,nasdaq")

    code = main(["settings"])

    assert code == 2
    err = capsys.readouterr().err
    assert "TRADEGRAPH_VENUES names unknown venues ['nasdaq']" in err
    assert "known: binance, finnhub, sim" in err


@pytest.mark.parametrize(("given", "expected"), [(None, "true"), ("false", "false")])
def test_mlflow_telemetry_is_off_unless_the_user_allows_it(
    given: str | None, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Arrange: a user's environment with or without MLflow's own switch
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    if given is None:
        monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", given)

    # Act: any command (its children, the MLflow UI and Dagster runs, inherit the environment)
    assert main(["settings"]) == 0

    # Assert
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == expected


def test_load_refuses_a_sync_interval_that_is_not_positive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRADEGRAPH_HOME", str(tmp_path))
    monkeypatch.setenv("TRADEGRAPH_BUS", "kafka")

    assert main(["load", "--sync-seconds", "0"]) == 2
    assert "--sync-seconds 0.0 must be positive, e.g. 1" in capsys.readouterr().err
