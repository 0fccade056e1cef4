"""TRADEGRAPH_MEMTRACE: the heap reports name the line whose allocations grew."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from trading_assets.services.memtrace import MemtraceConfig, report, start_from_env

_held: list[bytes] = []


def _grow() -> None:
    _held.extend(bytes(1024) + bytes([i % 256]) for i in range(4_000))  # about 4 MB held


def test_report_names_the_line_that_grew_most() -> None:
    # Arrange
    tracemalloc.start(6)
    try:
        baseline = tracemalloc.take_snapshot()
        _grow()
        now = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        _held.clear()

    # Act
    text = report(baseline, now, top=3)

    # Assert: the entry that grew most is about 4 MB, and its frames point at _grow in this file
    lines = text.splitlines()
    assert lines[0].startswith("traced ") and "RSS" in lines[0] and "pyarrow" in lines[0]
    assert float(lines[1].split()[0]) >= 3.5, text
    frames = []
    for line in lines[2:]:
        if not line.startswith(" "):
            break
        frames.append(line)
    assert any("test_memtrace.py" in f for f in frames) and any("bytes(1024)" in f for f in frames), text


def test_unset_variable_traces_nothing() -> None:
    assert start_from_env({}, "stream") is None
    assert not tracemalloc.is_tracing()


def test_variable_writes_reports_into_the_folder(tmp_path: Path) -> None:
    # Arrange / Act
    tracer = start_from_env({"TRADEGRAPH_MEMTRACE": f"{tmp_path},0.05"}, "load")
    try:
        assert tracer is not None
        deadline = time.monotonic() + 10
        while tracer.reports < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        assert tracer is not None
        tracer.stop()
        tracer.join(5)
        tracemalloc.stop()

    # Assert
    reports = sorted(tmp_path.glob("load-*-*.txt"))
    assert len(reports) >= 2
    assert reports[0].read_text().startswith("traced ")


@pytest.mark.parametrize("value", ["", ",5", "dir,0", "dir,-1"])
def test_bad_values_are_refused(value: str) -> None:
    if not value:
        assert start_from_env({"TRADEGRAPH_MEMTRACE": value}, "run") is None
        return
    with pytest.raises(ValueError, match="TRADEGRAPH_MEMTRACE"):
        MemtraceConfig.parse(value)
