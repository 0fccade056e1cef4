"""The executor's checkpoint: its in-memory state at a consistent point, stored in the table store.

What the ledger does not hold — open bars and watermarks, the feature windows, pending orders, the
portfolio and the risk engine's full state — is pickled together at a checkpoint. The executor commits its
bus offsets only after a checkpoint is stored, so a restart resumes from the checkpoint and replays the
ticks polled after it. Replaying ticks the checkpoint already saw changes nothing: a repeated trade of an
open bar is a duplicate, one of a closed bar is late, and neither makes a decision again.

One table per executor instance (``executor_checkpoint_<instance>``), one row per day: the day of the
latest checkpoint is replaced atomically, older days keep their last one. The payload is a pickle the
executor wrote itself, read back only by the executor of the same instance and code version.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pyarrow as pa

from resources.table_store.base import TableStore
from resources.table_store.spec import TableSpec
from trading_assets.core.time import date_of

_SCHEMA = pa.schema(
    [
        pa.field("time_us", pa.int64(), nullable=False),
        pa.field("code_version", pa.string(), nullable=False),
        pa.field("payload", pa.string(), nullable=False),
    ]
)


def checkpoint_table(instance: str) -> TableSpec:
    """The checkpoint table of an executor instance (its name lower-cased to a table-name suffix)."""
    suffix = re.sub(r"[^a-z0-9_]", "_", instance.lower())
    return TableSpec(
        name=f"executor_checkpoint_{suffix}", schema=_SCHEMA, time_column="time_us", key=("time_us",)
    )


def save_checkpoint(
    store: TableStore, instance: str, *, time_us: int, code_version: str, payload: bytes
) -> None:
    """Store ``payload`` as the instance's latest checkpoint (replacing the day's previous one)."""
    row = pa.table(
        {
            "time_us": pa.array([time_us], pa.int64()),
            "code_version": pa.array([code_version], pa.string()),
            "payload": _one_string(base64.b64encode(payload)),
        },
        schema=_SCHEMA,
    )
    store.write_partition(checkpoint_table(instance), date_of(time_us), row)


def _one_string(ascii_text: bytes) -> pa.StringArray:
    """A one-value string array over ``ascii_text``'s own memory: the payload is tens of MB at high tick
    rates (the open minute's ticks), and each copy of it is that much more memory at every checkpoint."""
    offsets = pa.py_buffer(np.array([0, len(ascii_text)], dtype=np.int32))
    return pa.StringArray.from_buffers(1, offsets, pa.py_buffer(ascii_text))


def load_checkpoint(store: TableStore, instance: str) -> tuple[int, str, bytes] | None:
    """The instance's latest checkpoint as (time, code version, payload); None before the first."""
    spec = checkpoint_table(instance)
    days = store.days(spec)
    if not days:
        return None
    table = store.read(spec, start_us=0, end_us=2**62).sort_by("time_us")
    last = table.num_rows - 1
    return (
        int(table["time_us"][last].as_py()),
        str(table["code_version"][last].as_py()),
        base64.b64decode(table["payload"][last].as_py()),
    )
