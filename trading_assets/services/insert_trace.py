"""An opt-in record of the loader's inserts: when each started and returned (the rows queryable from then
on) and, per symbol, the highest trade id and the number of ticks it held.

It is what measures exchange-to-stored latency exactly: a benchmark joins it with the stored trade times
(``bench/ingest.py --insert-trace``). A poller that asks ClickHouse which trades are stored measures the
same only up to its own polling interval and the time its own query takes, which grows when other queries
keep the server busy (docs/BENCHMARKS.md, Scale). The start splits a trade's latency into the time before
its insert (exchange, streamer, bus, the loader's batching) and the insert itself. One JSON object per line,
written by the loader's write thread right after the insert returned; about one line per insert, so off in
production.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import IO

import orjson
import pyarrow as pa


class InsertTrace:
    """Appends ``{"start_us": ..., "done_us": ..., "ids": {symbol: [max trade id, ticks]}}`` per insert to a
    file (wall-clock microseconds)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 (closed by close(), the loader's lifetime)

    def record(self, batch: pa.Table, started_us: int) -> None:
        """The insert of ``batch``, first tried at ``started_us``, returned just now."""
        done_us = time.time_ns() // 1_000
        grouped = batch.group_by("symbol").aggregate([("trade_id", "max"), ("trade_id", "count")])
        ids = {
            symbol: [top, count]
            for symbol, top, count in zip(
                grouped["symbol"].to_pylist(),
                grouped["trade_id_max"].to_pylist(),
                grouped["trade_id_count"].to_pylist(),
                strict=True,
            )
        }
        self._file.write(orjson.dumps({"start_us": started_us, "done_us": done_us, "ids": ids}) + b"\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        self._file.close()
