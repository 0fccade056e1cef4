"""The energy simulator's intraday trades and their FTP drop, loaded by the real ftp source."""

from __future__ import annotations

import datetime as dt
import itertools
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resources.sources.base import SourceBatch
from resources.sources.ftp import FtpSource
from resources.sources.registry import build_source
from trading_assets.core.time import US_PER_MINUTE, day_start_us
from trading_assets.services.energy_sim.ftp_drop import (
    PART_SUFFIX,
    DropReplay,
    FtpDropServer,
    day_drops,
    drop_files,
    publish_file,
    replay_drops,
    write_data_file,
)
from trading_assets.services.energy_sim.intraday_trades import (
    CSV_COLUMNS,
    day_ahead_curve,
    intraday_trades,
)

DAY = dt.date(2026, 1, 6)  # a Tuesday
US_PER_HOUR = 60 * US_PER_MINUTE


def test_trades_are_deterministic_per_seed() -> None:
    assert intraday_trades(DAY, seed=3, trades=2_000).equals(intraday_trades(DAY, seed=3, trades=2_000))
    assert not intraday_trades(DAY, seed=3, trades=2_000).equals(intraday_trades(DAY, seed=4, trades=2_000))


def test_trades_follow_the_market_rules_and_daily_shapes() -> None:
    trades = intraday_trades(DAY, seed=11, trades=40_000)
    frame = trades.to_pandas()
    start = day_start_us(DAY)
    lead = frame.delivery_start - frame.trade_time
    hour = (frame.delivery_start - start) // US_PER_HOUR
    curve = day_ahead_curve(DAY, seed=11)

    # Products: hours last 60 minutes and start on the hour, quarters last 15 minutes.
    hourly = frame["product"] == "PH"
    assert ((frame.delivery_end - frame.delivery_start)[hourly] == 60 * US_PER_MINUTE).all()
    assert ((frame.delivery_end - frame.delivery_start)[~hourly] == 15 * US_PER_MINUTE).all()
    assert (frame.delivery_start[hourly] % US_PER_HOUR == 0).all()
    assert 0.5 < (~hourly).mean() < 0.7
    # Trading: after the gate opens the day before, until 5 minutes before delivery; ordered by time.
    assert (lead >= 5 * US_PER_MINUTE).all()
    assert (frame.trade_time >= start - 9 * US_PER_HOUR).all()
    assert (np.diff(frame.trade_time.to_numpy()) >= 0).all()
    # More trades close to delivery: over half in the last 90 minutes of an up to 33 hour window.
    assert (lead <= 90 * US_PER_MINUTE).mean() > 0.5
    # Prices follow the day-ahead curve: the evening peak is dearer than the night, and the hourly means
    # track the curve.
    by_hour = frame.groupby(hour).price.mean()
    assert by_hour.loc[17:20].mean() > by_hour.loc[1:4].mean() + 30
    assert np.corrcoef(by_hour.to_numpy(), curve)[0, 1] > 0.9
    assert set(frame.aggressor) == {"BUY", "SELL"}
    assert frame.trade_id.is_unique
    assert (frame.quantity > 0).all()


def test_weekends_are_cheaper_on_average() -> None:
    weekdays = [day_ahead_curve(DAY + dt.timedelta(days=7 * w), seed=1).mean() for w in range(20)]
    saturdays = [day_ahead_curve(DAY + dt.timedelta(days=7 * w + 4), seed=1).mean() for w in range(20)]
    assert np.mean(saturdays) < np.mean(weekdays) - 8


def test_drops_cover_every_trade_once_and_their_sidecars_check_with_sha256sum(tmp_path: Path) -> None:
    drops = day_drops(DAY, seed=5, trades=3_000, window_s=3600)
    for drop in drops:
        publish_file(tmp_path, drop)

    assert sum(drop.rows for drop in drops) == 3_000
    assert len({drop.name for drop in drops}) == len(drops)
    assert not list(tmp_path.glob(f"*{PART_SUFFIX}"))
    sidecars = sorted(path.name for path in tmp_path.glob("*.sha256"))
    result = subprocess.run(["sha256sum", "-c", *sidecars], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_replay_drops_hold_every_trade_of_every_day_once_by_trade_time_window() -> None:
    drops = replay_drops(DAY, 2, seed=9, trades_per_day=4_000, window_s=900)

    assert sum(drop.rows for drop in drops) == 8_000
    assert len({drop.name for drop in drops}) == len(drops)
    assert [drop.window_start_us for drop in drops] == sorted(drop.window_start_us for drop in drops)
    # The evening before the second day both days are traded: that window's file mixes delivery days.
    evening = next(drop for drop in drops if drop.window_start_us == day_start_us(DAY) + 20 * US_PER_HOUR)
    trade_ids = [line.split(",")[0] for line in evening.data.decode().splitlines()[1:]]
    assert {trade_id.split("-")[1] for trade_id in trade_ids} == {
        f"{DAY:%Y%m%d}",
        f"{DAY + dt.timedelta(days=1):%Y%m%d}",
    }


def test_a_data_file_is_visible_before_its_sidecar(tmp_path: Path) -> None:
    drop = day_drops(DAY, seed=5, trades=100, window_s=3600)[0]
    write_data_file(tmp_path, drop.name, drop.data)
    assert (tmp_path / drop.name).read_bytes() == drop.data
    assert not (tmp_path / (drop.name + ".sha256")).exists()


def test_drop_files_waits_the_replayed_time_between_files(tmp_path: Path) -> None:
    drops = day_drops(DAY, seed=5, trades=500, window_s=900)[:4]
    waits: list[float] = []
    published = drop_files(tmp_path, drops, speed=100.0, sleep=waits.append)
    assert published == 4
    expected = [(b.window_end_us - a.window_end_us) / 1e6 / 100.0 for a, b in itertools.pairwise(drops)]
    assert waits == expected


def trades_source(server: FtpDropServer) -> FtpSource:
    source = build_source(
        "ftp",
        {
            "name": "intraday_trades_de",
            "host": "127.0.0.1",
            "port": server.port,
            "user": server.user,
            "password": server.password,
            "pattern": "intraday_trades_DE_*.csv",
            "columns": CSV_COLUMNS,
            "time_column": "trade_time",
            "series": ["area", "product"],
            "timeout_s": 5.0,
        },
    )
    assert isinstance(source, FtpSource)
    return source


def test_files_dropped_over_time_load_exactly_once_through_restarts(tmp_path: Path) -> None:
    # Arrange: a day of trades in 15-minute files, each data file sitting without its sidecar for a while
    # (a slow upload), published while the source polls.
    trades = intraday_trades(DAY, seed=7, trades=6_000)
    drops = day_drops(DAY, seed=7, trades=6_000, window_s=900)
    root = tmp_path / "drop"
    root.mkdir()
    batches: list[SourceBatch] = []
    with (
        FtpDropServer(root) as server,
        DropReplay(root, drops, interval_s=0.01, sidecar_delay_s=0.01) as replay,
    ):
        cursor: str | None = None
        # Act: poll while files arrive; restart the source (new connection, saved cursor) every 10 polls.
        source = trades_source(server)
        for poll in range(5_000):
            if poll % 10 == 9:
                source.close()
                source = trades_source(server)
            # Checked before the fetch: a file published during this fetch is picked up by the next one.
            all_published = replay.done
            batch = source.fetch(cursor, timeout_s=1.0)
            batches.append(batch)
            cursor = batch.cursor
            if all_published and not batch.more and batch.records.num_rows == 0:
                break
        source.close()

    # Assert: every file published, every trade loaded exactly once and typed as generated, no rejections.
    assert replay.published == len(drops)
    assert replay.rows == trades.num_rows
    loaded = pa.concat_tables(b.records for b in batches if b.records.num_rows)
    assert all(b.rejected == () for b in batches)
    assert loaded.num_rows == trades.num_rows
    assert pc.count_distinct(loaded.column("trade_id")).as_py() == trades.num_rows
    files = set(zip(loaded["file"].to_pylist(), loaded["file_sha256"].to_pylist(), strict=True))
    assert len(files) == len(drops)
    ordered = loaded.sort_by("trade_id").select(trades.schema.names)
    assert ordered.equals(trades.sort_by("trade_id").cast(ordered.schema))
