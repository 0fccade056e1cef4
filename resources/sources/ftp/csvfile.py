"""Reading one dropped CSV file into typed records, rejecting bad lines with their line number."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from resources.sources.base import Rejected
from resources.sources.columns import RowBuilder
from resources.sources.ftp.config import DIGEST_COLUMN, FILE_COLUMN, LINE_COLUMN


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The records of one file and the lines that could not be records."""

    records: pa.Table
    rejected: tuple[Rejected, ...]


def parse_csv(
    data: bytes,
    *,
    name: str,
    sha256: str,
    columns: Mapping[str, str],
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
) -> ParsedFile:
    """The records in CSV ``data`` (a header line naming the columns, then one record per line).

    Columns are found by header name (extra columns are ignored). A line with a wrong number of fields or
    a value that does not fit its column is rejected with ``<file> line <n>: ...``; the other lines load.
    A file that cannot be decoded or lacks a configured column is rejected as a whole.
    """
    builder = RowBuilder({**columns, FILE_COLUMN: "string", DIGEST_COLUMN: "string", LINE_COLUMN: "int64"})
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        return ParsedFile(builder.table(), (_whole(data, f"{name}: not {encoding} text: {exc}"),))
    # The same line splitting as the csv reader's, so line numbers and payloads agree.
    lines = io.StringIO(text, newline="").readlines()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rejected: list[Rejected] = []
    header: list[str] | None = None
    positions: dict[str, int] = {}
    previous_end = 0
    while True:
        start = previous_end + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # A broken quote: the reader gives up on the rest of the file, so report where it stopped.
            rejected.append(_line(lines, start, reader.line_num, f"{name} line {start}: bad CSV: {exc}"))
            break
        previous_end = reader.line_num
        if not fields or fields == [""]:
            continue
        if header is None:
            header = [field.strip() for field in fields]
            missing = [column for column in columns if column not in header]
            if missing:
                reason = f"{name}: header {header} lacks the configured columns {missing}; file not loaded"
                return ParsedFile(builder.table(), (_whole(data, reason),))
            positions = {column: header.index(column) for column in columns}
            continue
        if len(fields) != len(header):
            reason = f"{name} line {start}: expected {len(header)} fields, got {len(fields)}"
            rejected.append(_line(lines, start, previous_end, reason))
            continue
        row: dict[str, object] = {column: fields[index] for column, index in positions.items()}
        row[FILE_COLUMN] = name
        row[DIGEST_COLUMN] = sha256
        row[LINE_COLUMN] = start
        problem = builder.add(row)
        if problem is not None:
            rejected.append(_line(lines, start, previous_end, f"{name} line {start}: {problem}"))
    return ParsedFile(builder.table(), tuple(rejected))


def _line(lines: list[str], first: int, last: int, reason: str) -> Rejected:
    payload = "".join(lines[first - 1 : max(first, last)]).encode()
    return Rejected(payload=payload, reason=reason)


def _whole(data: bytes, reason: str) -> Rejected:
    # The first KiB says enough about a file that cannot be read at all; the file stays on the server.
    return Rejected(payload=data[:1024], reason=reason)
