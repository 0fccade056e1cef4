"""bench/ingest_stages.py: a trade's latency split at the streamer's read and at its insert's start, from
an insert trace as `tradegraph load --insert-trace` writes it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def stages_module():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(BENCH))
    try:
        import ingest
        import ingest_stages

        yield ingest, ingest_stages
    finally:
        sys.path.remove(str(BENCH))


def write_trace(path: Path, lines: list[dict]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def test_each_trade_is_split_at_the_streamer_read_and_at_the_start_of_the_insert_that_stored_it(
    stages_module, tmp_path: Path
) -> None:
    # Arrange: ids 1-2 of A in an insert from 10,000 to 12,000 us, ids 3-4 in one from 20,000 to 30,000 us
    ingest, ingest_stages = stages_module
    write_trace(
        tmp_path / "loader0.jsonl",
        [
            {"start_us": 10_000, "done_us": 12_000, "ids": {"A": [2, 2]}},
            {"start_us": 20_000, "done_us": 30_000, "ids": {"A": [4, 2]}},
        ],
    )
    trades = ingest.StoredTrades(
        symbols=np.array(["A"] * 4),
        ids=np.array([1, 2, 3, 4]),
        times=np.array([0, 1_000, 2_000, 3_000]),
        received=np.array([1_000, 3_000, 4_000, 5_000]),
    )

    # Act
    figures = ingest_stages.stage_breakdown(trades, ingest_stages.read_traces([tmp_path / "loader0.jsonl"]))

    # Assert: exchange 1, 2, 2, 2 ms; queue 9, 7, 16, 15 ms; insert 2, 2, 10, 10 ms; the slowest trade is id 3
    assert figures["exchange_p50"] == pytest.approx(2.0)
    assert figures["queue_p50"] == pytest.approx(12.0)
    assert figures["insert_p50"] == pytest.approx(6.0)
    assert (figures["tail_exchange"], figures["tail_queue"], figures["tail_insert"]) == (2.0, 16.0, 10.0)
    assert (figures["inserts"], figures["insert_ms_max"]) == (2, 10.0)


def test_a_trace_without_start_times_counts_the_whole_wait_as_queue(stages_module, tmp_path: Path) -> None:
    # Arrange: a trace written before the loader recorded its inserts' start
    ingest, ingest_stages = stages_module
    write_trace(tmp_path / "old.jsonl", [{"done_us": 12_000, "ids": {"A": [1, 1]}}])
    trades = ingest.StoredTrades(
        symbols=np.array(["A"]), ids=np.array([1]), times=np.array([0]), received=np.array([1_000])
    )

    # Act
    figures = ingest_stages.stage_breakdown(trades, ingest_stages.read_traces([tmp_path / "old.jsonl"]))

    # Assert
    assert (figures["queue_p50"], figures["insert_p50"]) == (11.0, 0.0)
