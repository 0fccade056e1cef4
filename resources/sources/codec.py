"""Source records on the bus: one bus record carries one batch of one source's records.

Layout: ``b"TGSR"``, a format version byte, the source name's length (1 byte), the publish wall time
(int64 microseconds, for the loader's end-to-end latency), the name's UTF-8 bytes, then the records as one
Arrow IPC stream. Arrow IPC keeps every source's own typed schema without a per-source
codec, and costs one buffer copy per batch, not per record. The record key is the source name, so one
source's batches stay in order on a partitioned topic.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import pyarrow as pa
from pyarrow import ipc

from resources.sources.base import check_source_name

MAGIC = b"TGSR"
FORMAT_VERSION = 1
_HEADER = struct.Struct("<4sBBq")


class SourceRecordDecodeError(ValueError):
    """A bus record is not a valid source record; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class SourceRecords:
    """A decoded bus record: which source and its records."""

    source: str
    records: pa.Table
    published_us: int
    """Wall time the poller published the batch (microseconds since epoch)."""


def encode_records(source: str, records: pa.Table, *, published_us: int) -> bytes:
    """One bus record value holding ``records`` of ``source``, published at ``published_us``."""
    name = check_source_name(source).encode()
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, records.schema) as writer:
        writer.write_table(records)
    return _HEADER.pack(MAGIC, FORMAT_VERSION, len(name), published_us) + name + sink.getvalue().to_pybytes()


def decode_records(value: bytes | None) -> SourceRecords:
    """The source and records in ``value``; :class:`SourceRecordDecodeError` saying why when it is not one."""
    if value is None:
        raise SourceRecordDecodeError("record has no value (a tombstone), expected a source record")
    if len(value) < _HEADER.size:
        raise SourceRecordDecodeError(
            f"record of {len(value)} bytes is shorter than the {_HEADER.size}-byte header"
        )
    magic, version, name_length, published_us = _HEADER.unpack_from(value)
    if magic != MAGIC:
        raise SourceRecordDecodeError(
            f"record starts with {magic!r}, expected {MAGIC!r} (not a source record)"
        )
    if version != FORMAT_VERSION:
        raise SourceRecordDecodeError(f"source record format {version} is not the supported {FORMAT_VERSION}")
    end = _HEADER.size + name_length
    try:
        source = check_source_name(value[_HEADER.size : end].decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise SourceRecordDecodeError(f"source record has a bad source name: {exc}") from exc
    try:
        records = ipc.open_stream(pa.py_buffer(value[end:])).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceRecordDecodeError(f"source record of {source!r} has a bad Arrow payload: {exc}") from exc
    return SourceRecords(source=source, records=records, published_us=published_us)
