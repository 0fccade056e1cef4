"""glibc's malloc_trim in the long-running commands: freed memory goes back to the system."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from trading_assets.core.settings import Settings, SettingsError
from trading_assets.services.malloc_trim import MallocTrimmer, glibc_trim, start

# A child process, so the parent's heap does not blur the figures: it fills the heap with blocks below
# glibc's mmap threshold, frees all but the last (which pins the heap's top, so free() cannot shrink it),
# and prints its RSS in MB before and after one trim.
_CHILD = """
import sys
from trading_assets.services.malloc_trim import glibc_trim
from trading_assets.services.memtrace import rss_mb

blocks = [bytearray(64 * 1024) for _ in range(3_000)]
for block in blocks:
    block[::4096] = b"x" * len(block[::4096])
del blocks[:-1]
before = rss_mb()
glibc_trim()()
print(before, rss_mb())
"""


def test_one_trim_gives_back_the_freed_heap_that_free_kept() -> None:
    # Arrange: glibc only (the Linux build of the project)
    if glibc_trim() is None:
        pytest.skip("no malloc_trim in this C library")

    # Act
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    before, after = (float(x) for x in out.split())

    # Assert: about 190 MB were freed but still resident; the trim returned most of it
    assert before - after > 100, (before, after)


def test_the_trimmer_trims_every_period_until_stopped() -> None:
    calls: list[float] = []
    trimmer = MallocTrimmer(lambda: calls.append(time.monotonic()) or 0, every_s=0.02)

    trimmer.start()
    deadline = time.monotonic() + 10
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    trimmer.stop()
    trimmer.join(timeout=5)

    assert len(calls) >= 3 and not trimmer.is_alive()


def test_only_long_running_commands_trim_and_zero_turns_it_off() -> None:
    assert start("bars", 10.0) is None
    assert start("run", 0.0) is None
    trimmer = start("load", 5.0)
    try:
        # None only on a C library without malloc_trim
        assert trimmer is None or (trimmer.every_s == 5 and trimmer.is_alive())
    finally:
        if trimmer is not None:
            trimmer.stop()


def test_the_period_is_a_setting_with_ten_seconds_by_default() -> None:
    assert Settings.from_env({}).malloc_trim_s == 10.0
    assert Settings.from_env({"TRADEGRAPH_MALLOC_TRIM_S": "2.5"}).malloc_trim_s == 2.5


@pytest.mark.parametrize("value", ["-1", "soon", "nan"])
def test_a_bad_period_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SettingsError, match="TRADEGRAPH_MALLOC_TRIM_S"):
        Settings.from_env({"TRADEGRAPH_MALLOC_TRIM_S": value})
