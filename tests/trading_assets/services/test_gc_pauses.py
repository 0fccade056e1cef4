"""The start-up heap frozen out of the collector's way (trading_assets/services/gc_pauses.py)."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from collections.abc import Iterator

import pytest

from trading_assets.services.gc_pauses import freeze_start_up_heap


class _Node:
    """Something that can sit in a reference cycle and be watched with a weak reference."""

    def __init__(self) -> None:
        self.other: _Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    # The test process's own heap goes back to the collector afterwards.
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_objects_alive_at_start_up_are_frozen_and_later_collections_skip_them(unfrozen: None) -> None:
    # Arrange
    kept = [_Node() for _ in range(1_000)]

    # Act
    frozen = freeze_start_up_heap()

    # Assert
    assert frozen == gc.get_freeze_count() > len(kept)
    # A full collection now walks only what was made since: the kept nodes are not among them.
    tracked = {id(obj) for obj in gc.get_objects(generation=2)}
    assert not any(id(node) in tracked for node in kept)


def test_start_up_garbage_in_cycles_is_collected_before_the_freeze_not_kept_forever(unfrozen: None) -> None:
    # Arrange: a cycle nothing refers to any more, as start-up leaves behind.
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    watch = weakref.ref(a)
    del a, b

    # Act
    freeze_start_up_heap()

    # Assert
    assert watch() is None


def test_objects_made_after_the_freeze_are_still_collected(unfrozen: None) -> None:
    # Arrange
    freeze_start_up_heap()
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    watch = weakref.ref(a)
    del a, b

    # Act
    gc.collect()

    # Assert
    assert watch() is None


def test_a_process_that_froze_its_heap_exits_without_a_leak_report() -> None:
    # Arrange: a service's start-up (DuckDB imported and used) and its frozen heap
    script = (
        "import duckdb\n"
        "from trading_assets.services.gc_pauses import freeze_start_up_heap\n"
        "duckdb.connect(':memory:').execute('SELECT 1').fetchall()\n"
        "freeze_start_up_heap()\n"
    )

    # Act
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)

    # Assert: DuckDB's bindings find nothing leaked at exit (before, a long "nanobind: leaked" report)
    assert done.returncode == 0, done.stderr
    assert "leaked" not in done.stderr, done.stderr[-2000:]
