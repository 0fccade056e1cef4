"""Pack the ticks of one (venue, symbol) into one bus record value, and back.

One record carries up to ``max_ticks_per_record`` ticks, so the per-record client cost (about 55 us of
CPU per kafka-python ``send``, docs/MEASUREMENTS.md) is paid once per few thousand ticks instead of once per tick.

Record layout, little-endian::

    header   struct "<4sHHHI": magic b"TGTK", format version, venue length, symbol length, tick count
    venue    UTF-8 bytes
    symbol   UTF-8 bytes
    payload  count * ROW_DTYPE.itemsize bytes: the numeric tick columns as packed numpy rows

The venue and symbol live once in the header; the numeric columns are one ``tobytes`` / ``frombuffer``
away from numpy, so neither side does per-tick Python work.

Dead letters travel as JSON (:func:`dead_letter_to_json`) on the dead-letter topic of either bus.
"""

from __future__ import annotations

import base64
import logging
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from resources.bus.base import DeadLetter, RawRecord, topic_for
from trading_assets.core.ticks import TICK_SCHEMA, conform, empty_tick_table
from trading_assets.core.validation import VENUE_PATTERN

MAGIC = b"TGTK"
FORMAT_VERSION = 1
DEFAULT_MAX_TICKS_PER_RECORD = 2000
_HEADER = struct.Struct("<4sHHHI")
_MAX_NAME_BYTES = 0xFFFF
_MAX_COUNT = 0xFFFF_FFFF
_VENUE_RE = re.compile(VENUE_PATTERN)

# Packed (align=False): 49 bytes a tick. Explicit little-endian so records mean the same on any host.
ROW_DTYPE = np.dtype(
    [
        ("trade_id", "<i8"),
        ("price", "<f8"),
        ("quantity", "<f8"),
        ("side", "i1"),
        ("trade_time_us", "<i8"),
        ("event_time_us", "<i8"),
        ("receive_time_us", "<i8"),
    ]
)
NUMERIC_COLUMNS: tuple[str, ...] = tuple(ROW_DTYPE.names or ())


def max_record_bytes(max_ticks_per_record: int, name_bytes: int = 2 * 128) -> int:
    """Upper bound of an encoded record's size, for checking client and broker size limits."""
    return _HEADER.size + name_bytes + max_ticks_per_record * ROW_DTYPE.itemsize


# Within the 1 MB default of Kafka's message.max.bytes, which limits one record batch.
MAX_REQUEST_BYTES = 1_000_000


def check_max_ticks_per_record(max_ticks_per_record: int, limit_bytes: int = MAX_REQUEST_BYTES) -> None:
    """Raise ``ValueError`` unless records of ``max_ticks_per_record`` ticks fit in ``limit_bytes``."""
    if max_ticks_per_record < 1 or max_record_bytes(max_ticks_per_record) > limit_bytes:
        raise ValueError(
            f"max_ticks_per_record={max_ticks_per_record} must be between 1 and "
            f"{(limit_bytes - max_record_bytes(0)) // ROW_DTYPE.itemsize} (record size limit)"
        )


class RecordDecodeError(ValueError):
    """A record value is not a valid tick record; the message says what exactly is wrong."""


@dataclass(frozen=True, slots=True)
class DecodedRecord:
    """The contents of one tick record: its key and its ticks as packed numpy rows (read-only)."""

    venue: str
    symbol: str
    rows: np.ndarray


def check_venue(venue: str) -> None:
    """Raise ``ValueError`` unless ``venue`` can name a topic (it becomes ``ticks.<venue>``)."""
    if not _VENUE_RE.match(venue):
        raise ValueError(
            f"venue {venue!r} is malformed: expected lower-case like 'binance' ({VENUE_PATTERN})"
        )


def _pack_rows(columns: dict[str, np.ndarray], n: int) -> np.ndarray:
    rows = np.empty(n, dtype=ROW_DTYPE)
    for name in NUMERIC_COLUMNS:
        rows[name] = columns[name]
    return rows


def _encode_rows(venue: str, symbol: str, rows: np.ndarray) -> bytes:
    venue_b, symbol_b = venue.encode(), symbol.encode()
    if not venue_b or not symbol_b:
        raise ValueError(f"venue {venue!r} and symbol {symbol!r} must not be empty")
    if len(venue_b) > _MAX_NAME_BYTES or len(symbol_b) > _MAX_NAME_BYTES:
        raise ValueError(
            f"venue or symbol longer than {_MAX_NAME_BYTES} bytes: {venue[:40]!r}/{symbol[:40]!r}"
        )
    if len(rows) > _MAX_COUNT:
        raise ValueError(f"{len(rows)} ticks do not fit one record (at most {_MAX_COUNT})")
    header = _HEADER.pack(MAGIC, FORMAT_VERSION, len(venue_b), len(symbol_b), len(rows))
    return b"".join((header, venue_b, symbol_b, rows.tobytes()))


def encode(venue: str, symbol: str, ticks: pa.Table) -> bytes:
    """Encode ``ticks`` (all of ``venue``/``symbol``; their own venue/symbol columns are not read)."""
    columns = {name: ticks.column(name).to_numpy() for name in NUMERIC_COLUMNS}
    return _encode_rows(venue, symbol, _pack_rows(columns, ticks.num_rows))


def decode(value: bytes | bytearray | memoryview | None) -> DecodedRecord:
    """Decode one record value; raise :class:`RecordDecodeError` saying what is wrong with it."""
    if value is None:
        raise RecordDecodeError("record has no value (null)")
    if not isinstance(value, bytes | bytearray | memoryview):
        raise RecordDecodeError(f"record value is {type(value).__name__}, not bytes")
    size = len(value)
    if size < _HEADER.size:
        raise RecordDecodeError(f"record is {size} bytes, shorter than the {_HEADER.size}-byte header")
    magic, version, venue_len, symbol_len, count = _HEADER.unpack_from(value, 0)
    if magic != MAGIC:
        raise RecordDecodeError(
            f"bad magic {bytes(magic)!r}: expected {MAGIC!r} (not a tradegraph tick record)"
        )
    if version != FORMAT_VERSION:
        raise RecordDecodeError(
            f"unsupported format version {version}: this reader knows version {FORMAT_VERSION}"
        )
    names_end = _HEADER.size + venue_len + symbol_len
    if names_end > size:
        raise RecordDecodeError(
            f"truncated: header announces venue {venue_len} + symbol {symbol_len} bytes "
            f"but only {size - _HEADER.size} bytes follow the header"
        )
    if venue_len == 0 or symbol_len == 0:
        raise RecordDecodeError(f"empty name: venue is {venue_len} bytes, symbol is {symbol_len} bytes")
    venue = _utf8(value[_HEADER.size : _HEADER.size + venue_len], "venue")
    symbol = _utf8(value[_HEADER.size + venue_len : names_end], "symbol")
    payload = size - names_end
    expected = count * ROW_DTYPE.itemsize
    if payload != expected:
        problem = "truncated" if payload < expected else "trailing bytes"
        raise RecordDecodeError(
            f"{problem}: payload is {payload} bytes but {count} ticks of {ROW_DTYPE.itemsize} bytes "
            f"need {expected} bytes"
        )
    rows = np.frombuffer(value, dtype=ROW_DTYPE, count=count, offset=names_end)
    return DecodedRecord(venue, symbol, rows)


def _utf8(raw: bytes | bytearray | memoryview, what: str) -> str:
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordDecodeError(f"{what} name {bytes(raw)[:40]!r} is not valid UTF-8: {exc.reason}") from None


def records_to_table(records: Iterable[DecodedRecord]) -> pa.Table:
    """Concatenate decoded records into one contiguous tick table, in record order."""
    records = list(records)
    if not records:
        return empty_tick_table()
    rows = records[0].rows if len(records) == 1 else np.concatenate([r.rows for r in records])
    counts = np.fromiter((len(r.rows) for r in records), dtype=np.int64, count=len(records))
    columns: dict[str, pa.Array] = {}
    for name in ("venue", "symbol"):
        # Names repeat per record: take() from the distinct names instead of building per-tick strings.
        names = [getattr(r, name) for r in records]
        distinct = list(dict.fromkeys(names))
        code_of = {n: i for i, n in enumerate(distinct)}
        codes = np.repeat(np.fromiter((code_of[n] for n in names), np.int32, len(names)), counts)
        columns[name] = pa.array(distinct, pa.string()).take(pa.array(codes))
    for name in NUMERIC_COLUMNS:
        columns[name] = pa.array(np.ascontiguousarray(rows[name]))
    return pa.Table.from_arrays([columns[f.name] for f in TICK_SCHEMA], schema=TICK_SCHEMA)


def decode_to_table(value: bytes) -> pa.Table:
    """Decode one record value into a tick table."""
    return records_to_table([decode(value)])


def _sorted_unique(values: pa.ChunkedArray) -> pa.Array:
    distinct = pc.unique(values)
    return distinct.take(pc.array_sort_indices(distinct))


def _key_groups(table: pa.Table) -> tuple[np.ndarray | None, list[tuple[str, str, int, int]]]:
    """(order or None when already grouped, [(venue, symbol, start, end)] over the ordered rows)."""
    venues, symbols = table.column("venue"), table.column("symbol")
    venue_set, symbol_set = _sorted_unique(venues), _sorted_unique(symbols)
    n = table.num_rows
    if len(venue_set) == 1 and len(symbol_set) == 1:  # the common case: one feed, one symbol
        return None, [(venue_set[0].as_py(), symbol_set[0].as_py(), 0, n)]
    venue_codes = pc.index_in(venues, value_set=venue_set).to_numpy().astype(np.int64)
    symbol_codes = pc.index_in(symbols, value_set=symbol_set).to_numpy().astype(np.int64)
    codes = venue_codes * len(symbol_set) + symbol_codes
    # Stable, so each symbol's ticks keep their publish order.
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    starts = np.concatenate(([0], bounds))
    ends = np.concatenate((bounds, [n]))
    venue_names, symbol_names = venue_set.to_pylist(), symbol_set.to_pylist()
    groups = []
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        venue_code, symbol_code = divmod(int(sorted_codes[start]), len(symbol_set))
        groups.append((venue_names[venue_code], symbol_names[symbol_code], start, end))
    return order, groups


def split_by_key(
    table: pa.Table, max_ticks_per_record: int = DEFAULT_MAX_TICKS_PER_RECORD
) -> list[tuple[str, str, pa.Table]]:
    """Group a tick table by (venue, symbol) and chunk each group to ``max_ticks_per_record`` rows.

    Groups come sorted by venue/symbol; within one group the rows keep the table's order.
    """
    if max_ticks_per_record < 1:
        raise ValueError(f"max_ticks_per_record must be at least 1, got {max_ticks_per_record}")
    table = conform(table)
    if table.num_rows == 0:
        return []
    order, groups = _key_groups(table)
    ordered = table if order is None else table.take(pa.array(order))
    return [
        (venue, symbol, ordered.slice(offset, min(max_ticks_per_record, end - offset)))
        for venue, symbol, start, end in groups
        for offset in range(start, end, max_ticks_per_record)
    ]


def encode_table(
    table: pa.Table, max_ticks_per_record: int = DEFAULT_MAX_TICKS_PER_RECORD
) -> list[tuple[str, str, bytes]]:
    """Split a tick table by key and encode each chunk: ``[(venue, symbol, record value)]``.

    Validates venue names (they become topic names). Same grouping as :func:`split_by_key`, but packs
    all rows once with numpy instead of taking and converting per chunk.
    """
    if max_ticks_per_record < 1:
        raise ValueError(f"max_ticks_per_record must be at least 1, got {max_ticks_per_record}")
    table = conform(table)
    if table.num_rows == 0:
        return []
    order, groups = _key_groups(table)
    for venue in {g[0] for g in groups}:
        check_venue(venue)
    columns = {name: table.column(name).to_numpy() for name in NUMERIC_COLUMNS}
    if order is not None:
        columns = {name: values[order] for name, values in columns.items()}
    rows = _pack_rows(columns, table.num_rows)
    return [
        (venue, symbol, _encode_rows(venue, symbol, rows[offset : min(offset + max_ticks_per_record, end)]))
        for venue, symbol, start, end in groups
        for offset in range(start, end, max_ticks_per_record)
    ]


def decode_batch(records: Iterable[RawRecord]) -> tuple[pa.Table, list[DeadLetter]]:
    """Decode polled records into one tick table plus dead letters for the undecodable ones.

    Besides the record format, checks routing: the venue must belong to the record's topic and the key
    must be the symbol, since per-symbol ordering rests on the key.
    """
    good: list[DecodedRecord] = []
    dead: list[DeadLetter] = []
    for topic, partition, offset, key, value in records:
        try:
            record = decode(value)
            if topic_for(record.venue) != topic:
                raise RecordDecodeError(f"venue {record.venue!r} does not belong on topic {topic!r}")
            if key != record.symbol.encode():
                raise RecordDecodeError(f"key {key!r} is not the record's symbol {record.symbol!r}")
        except RecordDecodeError as exc:
            dead.append(
                DeadLetter(
                    topic=topic,
                    partition=partition,
                    offset=offset,
                    key=key,
                    value=bytes(value or b""),
                    reason=str(exc),
                )
            )
            continue
        good.append(record)
    return records_to_table(good), dead


def log_dead_letters(dead: Sequence[DeadLetter], context: str, logger: logging.Logger) -> None:
    """Warn on ``logger`` once per record a consumer could not decode, naming where it was and, in
    ``context``, who read it (the consumers write them to the dead-letter topic too)."""
    for letter in dead:
        logger.warning(
            "dead letter from %s[%d] offset %d (%s): %s",
            letter.topic,
            letter.partition,
            letter.offset,
            context,
            letter.reason,
        )


def _b64(raw: bytes | None) -> str | None:
    return None if raw is None else base64.b64encode(raw).decode("ascii")


def dead_letter_to_json(letter: DeadLetter) -> bytes:
    """The dead-letter topic's record value for ``letter``: JSON with base64 key and value."""
    return orjson.dumps(
        {
            "topic": letter.topic,
            "partition": letter.partition,
            "offset": letter.offset,
            "key_b64": _b64(letter.key),
            "value_b64": _b64(letter.value),
            "reason": letter.reason,
        }
    )


def dead_letter_from_json(value: bytes) -> DeadLetter:
    """Parse a dead-letter topic record value; ``ValueError`` if it is not one."""
    try:
        doc = orjson.loads(value)
        return DeadLetter(
            topic=doc["topic"],
            partition=int(doc["partition"]),
            offset=int(doc["offset"]),
            key=None if doc["key_b64"] is None else base64.b64decode(doc["key_b64"]),
            value=base64.b64decode(doc["value_b64"] or ""),
            reason=doc["reason"],
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a dead-letter record ({exc}): {bytes(value)[:80]!r}") from exc
