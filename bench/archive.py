"""Tick archive size and speed: Parquet bytes per tick for candidate writer settings, then the archive itself.

Simulates ``--ticks`` trades (5 symbols, one UTC day; not timed), writes them as Parquet with several
candidate settings to show what each choice buys, then archives the day with the real
:class:`LocalTickArchive` (sort, encode, write, fsync, read back and verify: timed) and reads it back.
``--s3`` also archives to a moto S3 server started here (upload, verify, copy, verify again).
Prints the figures, then one JSON line (the last line) for docs/BENCHMARKS.md.

    .venv/bin/python bench/archive.py [--ticks 1000000] [--s3]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import io
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from resources.archive import S3TickArchive, TickArchive, TickArchiveConfig, WriterSettings, open_tick_archive
from resources.archive.layout import day_start_us, encode, to_parquet_bytes
from testkit.servers import install_cleanup_handlers
from testkit.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from trading_assets.market.simulation import simulate_day

DAY = dt.date(2024, 3, 1)
_SORT = [(name, "ascending") for name in ("venue", "symbol", "trade_time_us", "trade_id")]
_TIMES = ("trade_id", "trade_time_us", "event_time_us", "receive_time_us")


def candidates(ticks: pa.Table) -> list[tuple[str, Callable[[], bytes]]]:
    """(name, write) pairs, from verbatim defaults to the archive's own format."""
    ordered = ticks.sort_by(_SORT)

    def verbatim(table: pa.Table, **options: Any) -> Callable[[], bytes]:
        def write() -> bytes:
            sink = io.BytesIO()
            pq.write_table(table, sink, **options)
            return sink.getvalue()

        return write

    encodings = {name: "DELTA_BINARY_PACKED" for name in _TIMES} | {"quantity": "BYTE_STREAM_SPLIT"}
    tuned = {
        "compression": "zstd",
        "compression_level": 9,
        "use_dictionary": ["venue", "symbol", "side", "price"],
        "column_encoding": encodings,
        "row_group_size": 65_536,
    }
    default = WriterSettings()
    rows: list[tuple[str, Callable[[], bytes]]] = [
        ("tick columns, time order, zstd defaults", verbatim(ticks, compression="zstd")),
        ("tick columns, sorted, zstd defaults", verbatim(ordered, compression="zstd")),
        ("tick columns, sorted, dict/delta/BSS, zstd 9", verbatim(ordered, **tuned)),
    ]
    for level in (3, 9, 15):
        settings = dataclasses.replace(default, compression_level=level)
        rows.append((f"archive ticks-v1, zstd {level}", lambda s=settings: to_parquet_bytes(ticks, s)))
    for group_rows in (16_384, 131_072):
        settings = dataclasses.replace(default, row_group_rows=group_rows)
        rows.append(
            (f"archive ticks-v1, {group_rows} rows/group", lambda s=settings: to_parquet_bytes(ticks, s))
        )
    return rows


def column_sizes(data: bytes, rows: int) -> dict[str, float]:
    """Compressed bytes per tick of each column."""
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    sizes: dict[str, float] = {}
    for group in range(metadata.num_row_groups):
        for index in range(metadata.num_columns):
            column = metadata.row_group(group).column(index)
            sizes[column.path_in_schema] = (
                sizes.get(column.path_in_schema, 0.0) + column.total_compressed_size
            )
    return {name: round(size / rows, 3) for name, size in sizes.items()}


def archive_round(archive: TickArchive, ticks: pa.Table) -> tuple[float, float, int]:
    """(write seconds, read seconds, bytes) of archiving and reading back ``ticks``; checks the round trip."""
    started = time.perf_counter()
    record = archive.write_day(DAY, ticks)
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    back = archive.read_day(DAY)
    read_s = time.perf_counter() - started
    if not back.equals(ticks.sort_by(_SORT)):
        raise SystemExit(f"{archive!r}: read_day did not return the ticks written")
    return write_s, read_s, record.bytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=1_000_000, help="ticks in the day (default 1,000,000)")
    parser.add_argument("--s3", action="store_true", help="also archive to a moto S3 server started here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    install_cleanup_handlers()

    ticks = simulate_day(day_start_us=day_start_us(DAY), ticks=args.ticks)
    n = ticks.num_rows
    print(f"simulated {n:,} ticks of 5 symbols on {DAY} (not timed)")

    print(f"{'candidate':<48} {'bytes/tick':>10} {'write s':>8}")
    for name, write in candidates(ticks):
        started = time.perf_counter()
        data = write()
        print(f"{name:<48} {len(data) / n:>10.3f} {time.perf_counter() - started:>8.2f}")
    archive_bytes = to_parquet_bytes(ticks, WriterSettings())
    print("archive columns, bytes/tick:", column_sizes(archive_bytes, n))
    started = time.perf_counter()
    encode(ticks)
    print(f"sort + encode alone: {time.perf_counter() - started:.2f} s")

    summary: dict[str, Any] = {"ticks": n}
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as work:
        write_s, read_s, size = archive_round(
            open_tick_archive(TickArchiveConfig(location=str(Path(work) / "archive"))), ticks
        )
        print(f"local archive: write+verify {write_s:.2f} s, read_day {read_s:.2f} s, {size:,} bytes")
        summary |= {
            "parquet_bytes_per_tick": round(size / n, 3),
            "archive_write_s_per_m_ticks": round(write_s / n * 1e6, 3),
            "archive_read_s_per_m_ticks": round(read_s / n * 1e6, 3),
        }
        if args.s3:
            with S3Server(Path(work) / "moto") as server:
                s3 = open_tick_archive(
                    TickArchiveConfig(
                        location="s3://bench-archive/ticks",
                        s3_endpoint=server.endpoint_url,
                        s3_region=REGION,
                        aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY,
                    )
                )
                assert isinstance(s3, S3TickArchive)
                s3.ensure_bucket()
                write_s, read_s, _ = archive_round(s3, ticks)
                s3.close()
            print(f"s3 (moto) archive: write+verify {write_s:.2f} s, read_day {read_s:.2f} s")
            summary |= {
                "s3_write_s_per_m_ticks": round(write_s / n * 1e6, 3),
                "s3_read_s_per_m_ticks": round(read_s / n * 1e6, 3),
            }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
