"""The ftp source against real pyftpdlib servers (plain FTP and FTPS) on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from resources.sources.base import SourceError, SourceUnavailableError
from resources.sources.config import parse_sources
from resources.sources.ftp import FtpSource
from testkit.tls import self_signed_cert
from tests.resources.sources.ftp_support import PASSWORD, USER, Clock, csv_bytes, drain, ftp_source
from trading_assets.services.energy_sim.ftp_drop import (
    FtpDropServer,
    sha256_line,
    write_data_file,
    write_sidecar,
)

HEADER = "id,ts,area,price,firm"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "drop"
    path.mkdir()
    return path


@pytest.fixture(params=["ftp", "ftps"])
def server(
    request: pytest.FixtureRequest, root: Path, tls_files: tuple[Path, Path]
) -> Iterator[FtpDropServer]:
    cert, key = tls_files
    tls = request.param == "ftps"
    with FtpDropServer(
        root, user=USER, password=PASSWORD, certfile=cert if tls else None, keyfile=key if tls else None
    ) as started:
        yield started


@pytest.fixture
def plain_server(root: Path) -> Iterator[FtpDropServer]:
    with FtpDropServer(root, user=USER, password=PASSWORD) as started:
        yield started


@pytest.fixture
def source(server: FtpDropServer, tls_files: tuple[Path, Path]) -> Iterator[FtpSource]:
    with ftp_source(server, ca_file=tls_files[0]) as built:
        yield built


def upload(root: Path, name: str, data: bytes) -> None:
    write_data_file(root, name, data)
    write_sidecar(root, name, sha256_line(name, data))


def rows_file(first_id: int, count: int) -> bytes:
    lines = [HEADER] + [
        f"{first_id + i},2026-01-05T10:{i % 60:02d}:00Z,DE,{50 + i}.25,{'true' if i % 2 else 'false'}"
        for i in range(count)
    ]
    return csv_bytes(*lines)


def test_partial_upload_is_ignored_until_its_sidecar_appears_then_loaded_once(
    root: Path, source: FtpSource
) -> None:
    # Arrange: the data file is there (renamed from .part) but its sidecar is not yet.
    data = rows_file(1, 5)
    write_data_file(root, "a.csv", data)
    (root / "b.csv.part").write_bytes(b"id,ts\n1,2")  # still uploading, not even renamed

    # Act / Assert: a partial upload is not loaded and not rejected.
    before = source.fetch(None, timeout_s=1.0)
    assert before.records.num_rows == 0
    assert before.rejected == ()

    write_sidecar(root, "a.csv", sha256_line("a.csv", data))
    loaded = source.fetch(before.cursor, timeout_s=1.0)
    again = source.fetch(loaded.cursor, timeout_s=1.0)

    assert loaded.records.column("id").to_pylist() == [1, 2, 3, 4, 5]
    assert set(loaded.records.column("file").to_pylist()) == {"a.csv"}
    assert set(loaded.records.column("file_sha256").to_pylist()) == {hashlib.sha256(data).hexdigest()}
    assert loaded.records.column("line").to_pylist() == [2, 3, 4, 5, 6]
    assert loaded.rejected == ()
    assert again.records.num_rows == 0


def test_checksum_mismatch_is_rejected_with_the_reason_and_nothing_loaded_until_it_matches(
    root: Path, source: FtpSource
) -> None:
    # Arrange: the sidecar names the digest of the full file, the server holds a truncated one.
    full = rows_file(1, 8)
    truncated = full[: len(full) // 2]
    write_data_file(root, "prices.csv", truncated)
    write_sidecar(root, "prices.csv", sha256_line("prices.csv", full))

    # Act
    first = source.fetch(None, timeout_s=1.0)
    second = source.fetch(first.cursor, timeout_s=1.0)

    # Assert: nothing loaded, one dead letter naming both digests, not reported again while unchanged.
    assert first.records.num_rows == 0
    assert len(first.rejected) == 1
    reason = first.rejected[0].reason
    assert "prices.csv" in reason
    assert hashlib.sha256(truncated).hexdigest() in reason
    assert hashlib.sha256(full).hexdigest() in reason
    assert "not loaded" in reason
    assert second.records.num_rows == 0
    assert second.rejected == ()

    # Act: the upload finishes rewriting the file; the next poll reads it again and loads it.
    write_data_file(root, "prices.csv", full)
    fixed = source.fetch(second.cursor, timeout_s=1.0)
    assert fixed.records.column("id").to_pylist() == list(range(1, 9))
    assert fixed.rejected == ()


def test_each_file_is_loaded_exactly_once_across_a_restart_from_the_saved_cursor(
    root: Path, server: FtpDropServer, tls_files: tuple[Path, Path]
) -> None:
    # Arrange: five complete files of 10 rows each.
    for index in range(5):
        upload(root, f"drop_{index}.csv", rows_file(100 * index, 10))

    # Act: load two files, "crash" (the saved cursor is the one after the second batch), restart.
    with ftp_source(server, ca_file=tls_files[0]) as first:
        batch1 = first.fetch(None, timeout_s=1.0)
        batch2 = first.fetch(batch1.cursor, timeout_s=1.0)
    saved = batch2.cursor
    with ftp_source(server, ca_file=tls_files[0]) as restarted:
        rest, cursor = drain(restarted, saved)
        upload(root, "drop_5.csv", rows_file(500, 7))
        later, cursor = drain(restarted, cursor)
        idle = restarted.fetch(cursor, timeout_s=1.0)

    # Assert: one file per batch, `more` while files wait, every file exactly once.
    assert (batch1.more, batch2.more) == (True, True)
    batches = [batch1, batch2, *rest, *later]
    loaded = [b for b in batches if b.records.num_rows]
    files = [set(b.records.column("file").to_pylist()) for b in loaded]
    assert all(len(names) == 1 for names in files)
    assert sorted(next(iter(names)) for names in files) == [f"drop_{i}.csv" for i in range(6)]
    records = pa.concat_tables(b.records for b in loaded)
    assert records.num_rows == 5 * 10 + 7
    assert len(set(records.column("id").to_pylist())) == 57
    assert idle.records.num_rows == 0


def test_a_crash_before_the_cursor_is_saved_repeats_at_most_one_file_with_the_same_keys(
    root: Path, plain_server: FtpDropServer
) -> None:
    for index in range(3):
        upload(root, f"f{index}.csv", rows_file(10 * index, 4))
    with ftp_source(plain_server) as source:
        first = source.fetch(None, timeout_s=1.0)
        second = source.fetch(first.cursor, timeout_s=1.0)
    # The cursor of `second` was never saved: a restart resumes from `first`'s cursor.
    with ftp_source(plain_server) as restarted:
        repeat = restarted.fetch(first.cursor, timeout_s=1.0)
        rest, _ = drain(restarted, repeat.cursor)

    key = ["file", "file_sha256", "line"]
    assert repeat.records.select(key).to_pylist() == second.records.select(key).to_pylist()
    assert sum(b.records.num_rows for b in rest) == 4  # only the third file is left


def test_bad_lines_are_rejected_with_line_number_field_and_value_and_the_rest_loads(
    root: Path, plain_server: FtpDropServer
) -> None:
    data = csv_bytes(
        HEADER,
        "1,2026-01-05T10:00:00Z,DE,50.5,true",
        "2,2026-01-05T10:01:00Z,DE,abc,true",
        "3,1767607260,FR,51.0,no",
        "4,2026-01-05T10:03:00Z,DE,52.0",
        "",
        "5,yesterday,DE,53.0,false",
        "6,2026-01-05T10:05:00+01:00,DE,54.0,maybe",
        "7,2026-01-05T10:06:00,DE,55.0,1",
    )
    upload(root, "mixed.csv", data)
    with ftp_source(plain_server) as source:
        batch = source.fetch(None, timeout_s=1.0)

    assert batch.records.column("id").to_pylist() == [1, 3, 7]
    assert batch.records.column("line").to_pylist() == [2, 4, 9]
    assert batch.records.column("ts").to_pylist() == [
        1767607200_000000,
        1767607260_000000,  # epoch seconds
        1767607560_000000,  # no offset: UTC
    ]
    assert batch.records.column("firm").to_pylist() == [True, False, True]
    reasons = [rejected.reason for rejected in batch.rejected]
    assert len(reasons) == 4
    assert reasons[0].startswith("mixed.csv line 3:") and "'price'" in reasons[0] and "'abc'" in reasons[0]
    assert reasons[1] == "mixed.csv line 5: expected 5 fields, got 4"
    assert reasons[2].startswith("mixed.csv line 7:") and "'ts'" in reasons[2] and "'yesterday'" in reasons[2]
    assert reasons[3].startswith("mixed.csv line 8:") and "'firm'" in reasons[3] and "'maybe'" in reasons[3]
    assert batch.rejected[0].payload == b"2,2026-01-05T10:01:00Z,DE,abc,true\n"


def test_a_file_uploaded_again_with_another_digest_is_a_new_file(
    root: Path, plain_server: FtpDropServer
) -> None:
    upload(root, "daily.csv", rows_file(1, 3))
    with ftp_source(plain_server) as source:
        first, cursor = drain(source, None)
        upload(root, "daily.csv", rows_file(1, 4))  # corrected: one more row, so another digest
        os.utime(root / "daily.csv", (1, 1))
        second, cursor = drain(source, cursor)
        third, _ = drain(source, cursor)

    assert sum(b.records.num_rows for b in first) == 3
    reloaded = pa.concat_tables(b.records for b in second)
    assert reloaded.num_rows == 4
    assert set(reloaded.column("file_sha256").to_pylist()) == {hashlib.sha256(rows_file(1, 4)).hexdigest()}
    assert sum(b.records.num_rows for b in third) == 0


def test_the_cursor_drops_loaded_files_after_retention_once_the_server_no_longer_lists_them(
    root: Path, plain_server: FtpDropServer
) -> None:
    upload(root, "old.csv", rows_file(1, 2))
    upload(root, "kept.csv", rows_file(10, 2))
    clock = Clock(1_000_000.0)
    source = ftp_source(plain_server, retention_s=3600.0)
    source._clock = clock  # the registry builds with the wall clock; retention is tested with a set one
    _, cursor = drain(source, None)
    (root / "old.csv").unlink()
    (root / "old.csv.sha256").unlink()

    clock.now += 1800.0
    within = source.fetch(cursor, timeout_s=1.0)
    clock.now += 3600.0
    after = source.fetch(within.cursor, timeout_s=1.0)
    source.close()

    assert within.cursor is not None and after.cursor is not None
    assert sorted(json.loads(within.cursor)["files"]) == ["kept.csv", "old.csv"]
    assert sorted(json.loads(after.cursor)["files"]) == ["kept.csv"]  # still listed: kept
    assert after.records.num_rows == 0


def test_sidecars_are_what_sha256sum_checks(root: Path) -> None:
    data = rows_file(1, 3)
    upload(root, "checked.csv", data)
    result = subprocess.run(
        ["sha256sum", "-c", "checked.csv.sha256"], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_stopped_server_is_unavailable(root: Path) -> None:
    with FtpDropServer(root, user=USER, password=PASSWORD) as stopped:
        source = ftp_source(stopped)
    with pytest.raises(SourceUnavailableError, match="connect"):
        source.fetch(None, timeout_s=1.0)


def test_a_wrong_password_is_a_source_error_not_a_retry(plain_server: FtpDropServer) -> None:
    with ftp_source(plain_server, password="wrong") as source, pytest.raises(SourceError) as raised:
        source.fetch(None, timeout_s=1.0)
    assert not isinstance(raised.value, SourceUnavailableError)
    assert "530" in str(raised.value)


def test_ftps_with_an_untrusted_certificate_is_a_source_error(
    root: Path, tls_files: tuple[Path, Path], tmp_path: Path
) -> None:
    other_ca, _ = self_signed_cert(tmp_path / "other")
    cert, key = tls_files
    with FtpDropServer(root, user=USER, password=PASSWORD, certfile=cert, keyfile=key) as server:
        with ftp_source(server, ca_file=other_ca) as source, pytest.raises(SourceError) as raised:
            source.fetch(None, timeout_s=1.0)
    assert not isinstance(raised.value, SourceUnavailableError)
    assert "certificate" in str(raised.value)


def test_a_server_restart_between_polls_reconnects(root: Path) -> None:
    upload(root, "one.csv", rows_file(1, 2))
    with FtpDropServer(root, user=USER, password=PASSWORD) as first_server:
        port = first_server.port
        source = ftp_source(first_server)
        batch = source.fetch(None, timeout_s=1.0)
    upload(root, "two.csv", rows_file(5, 3))
    with FtpDropServer(root, user=USER, password=PASSWORD, port=port):
        after = source.fetch(batch.cursor, timeout_s=1.0)
        source.close()
    assert batch.records.num_rows == 2
    assert after.records.column("id").to_pylist() == [5, 6, 7]


def test_a_server_that_never_answers_times_out_as_unavailable(plain_server: FtpDropServer) -> None:
    # A listening socket that accepts connections (the kernel's backlog) but never sends the FTP banner.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        source = ftp_source(plain_server, port=silent.getsockname()[1], timeout_s=0.5)
        with pytest.raises(SourceUnavailableError, match=r"timed out after 0\.5s"):
            source.fetch(None, timeout_s=1.0)


def test_configured_from_a_sources_file_with_the_password_from_the_environment(
    root: Path, plain_server: FtpDropServer
) -> None:
    upload(root, "a.csv", rows_file(1, 3))
    text = f"""
[[source]]
name = "drops"
kind = "ftp"
host = "127.0.0.1"
port = {plain_server.port}
user = "{USER}"
password = "env:DROP_PASSWORD"
columns = {{ id = "int64", ts = "time", area = "string", price = "float64", firm = "bool" }}
time_column = "ts"
timeout_s = 5
"""
    (entry,) = parse_sources(text)
    with entry.build({"DROP_PASSWORD": PASSWORD}) as source:
        batch = source.fetch(None, timeout_s=1.0)
    assert batch.records.column("id").to_pylist() == [1, 2, 3]
    assert source.spec.topic == "sources.drops"
    assert source.spec.records.key == ("file", "file_sha256", "line")


def test_a_sidecar_that_is_not_a_digest_line_is_rejected_once_and_the_file_loads_when_it_is_fixed(
    root: Path, plain_server: FtpDropServer
) -> None:
    data = rows_file(1, 3)
    write_data_file(root, "late.csv", data)
    write_sidecar(root, "late.csv", b"in progress\n")
    with ftp_source(plain_server) as source:
        first = source.fetch(None, timeout_s=1.0)
        second = source.fetch(first.cursor, timeout_s=1.0)
        write_sidecar(root, "late.csv", sha256_line("late.csv", data))
        fixed = source.fetch(second.cursor, timeout_s=1.0)

    assert first.records.num_rows == 0
    assert [r.reason for r in first.rejected] == [
        "late.csv.sha256: not a SHA-256 line as sha256sum writes it (<64 hex digits>  <name>); late.csv not loaded yet"
    ]
    assert second.rejected == ()
    assert fixed.records.column("id").to_pylist() == [1, 2, 3]


def test_a_file_larger_than_the_limit_is_rejected_once_and_never_read(
    root: Path, plain_server: FtpDropServer
) -> None:
    upload(root, "huge.csv", rows_file(1, 200))
    upload(root, "small.csv", rows_file(1000, 2))
    with ftp_source(plain_server, max_file_bytes=1000) as source:
        batches, cursor = drain(source, None)
        again = source.fetch(cursor, timeout_s=1.0)

    reasons = [r.reason for b in batches for r in b.rejected]
    assert len(reasons) == 1 and reasons[0].startswith("huge.csv: ") and "max_file_bytes 1000" in reasons[0]
    assert [i for b in batches for i in b.records.column("id").to_pylist()] == [1000, 1001]
    assert again.rejected == () and again.records.num_rows == 0
