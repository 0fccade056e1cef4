"""What the ClickHouse tick store knows about one day's parts: whether it may be read without ``FINAL``.

A day holds each (venue, symbol, trade_id) once, so that its rows can be read as stored (several times
faster than ``FINAL`` on 18.16), when either

- it is one part written by a merge (``OPTIMIZE ... FINAL`` or a background merge of every part: a
  ReplacingMergeTree merge keeps each key once), or
- a seal read it, found every key once, and left a *seal mark* (its highest insert block number and its
  rows, :func:`resources.tick_store.clickhouse_sql.create_seal_marks`), and the day still has that highest
  block and those rows: nothing was inserted since (every insert gets a higher block number), and merges
  since kept every row (they only drop duplicates, and there were none).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionState:
    """The active parts of one day's partition, from ``system.parts``."""

    parts: int
    """How many active parts."""
    min_level: int
    """The lowest merge level among them (0: a part as inserted)."""
    max_block: int
    """The highest insert block number in them."""
    rows: int
    """Rows stored, duplicates included."""

    @classmethod
    def from_result(cls, result: Sequence[Any]) -> PartitionState:
        """From the columnar result of :func:`resources.tick_store.clickhouse_sql.partition_parts`."""
        parts = int(result[0][0])
        if parts == 0:
            return cls(parts=0, min_level=0, max_block=0, rows=0)
        return cls(
            parts=parts, min_level=int(result[1][0]), max_block=int(result[3][0]), rows=int(result[4][0])
        )

    @property
    def merged(self) -> bool:
        """One part written by a merge: each key once."""
        return self.parts == 1 and self.min_level > 0 and self.rows > 0

    def same_rows_as(self, other: PartitionState) -> bool:
        """Nothing inserted between ``other`` and this state (merges may have run)."""
        return self.max_block == other.max_block and self.rows == other.rows


@dataclass(frozen=True, slots=True, kw_only=True)
class SealMark:
    """The latest seal mark of a day (see the module docstring); ``None`` fields when it has none."""

    max_block: int | None
    """The day's highest insert block when the seal found it free of duplicates."""
    rows: int | None
    """Its rows then."""

    @classmethod
    def from_result(cls, result: Sequence[Any]) -> SealMark:
        """From the columnar result of :func:`resources.tick_store.clickhouse_sql.seal_mark`."""
        if not result or int(result[0][0]) == 0:
            return cls(max_block=None, rows=None)
        return cls(max_block=int(result[1][0]), rows=int(result[2][0]))

    def covers(self, state: PartitionState) -> bool:
        """The day is as the seal found it: same highest block and rows, so each key still once."""
        return state.parts > 0 and state.max_block == self.max_block and state.rows == self.rows


def repeats_a_trade_id(trade_id: np.ndarray) -> bool:
    """Whether an id occurs more than once. One vectorised pass when the ids ascend strictly (a symbol's
    day read in trade order, the usual case), else a sort."""
    if len(trade_id) < 2:
        return False
    if bool(np.all(trade_id[1:] > trade_id[:-1])):
        return False
    return int(np.unique(trade_id).size) < len(trade_id)
