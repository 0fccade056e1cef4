"""S3 archive specifics against a real moto server: clients, buckets, metadata, errors, range reads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from resources.archive import (
    ArchiveError,
    ArchiveVerificationError,
    LocalTickArchive,
    S3TickArchive,
    TickArchiveConfig,
    WriterSettings,
    open_tick_archive,
)
from resources.archive.layout import day_start_us
from testkit.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from tests.resources.archive.conftest import DAY1, DAY2, archive_order, new_bucket, s3_archive, sim_day
from trading_assets.core.settings import Settings


def test_object_carries_its_record_as_metadata(s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, new_bucket())
    archive.ensure_bucket()

    record = archive.write_day(DAY1, sim_day(DAY1, 200))

    head = archive.client.head_object(
        Bucket=archive.bucket, Key="tick/archive/ticks/day=2024-03-01/ticks.parquet"
    )
    assert head["Metadata"]["sha256"] == record.sha256
    assert head["Metadata"]["rows"] == str(record.rows)
    assert head["ContentLength"] == record.bytes
    assert record.uri == f"s3://{archive.bucket}/tick/archive/ticks/day=2024-03-01/ticks.parquet"


def test_open_tick_archive_takes_the_s3_url_endpoint_and_credentials_of_the_settings(
    s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = new_bucket()
    settings = Settings.from_env(
        {
            "TRADEGRAPH_HOME": str(tmp_path),
            "TRADEGRAPH_ARCHIVE": f"s3://{bucket}/prod/ticks",
            "TRADEGRAPH_S3_ENDPOINT": s3_server.endpoint_url,
            "TRADEGRAPH_S3_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        }
    )

    archive = open_tick_archive(TickArchiveConfig.from_settings(settings))
    assert isinstance(archive, S3TickArchive)
    archive.ensure_bucket()
    record = archive.write_day(DAY1, sim_day(DAY1, 100))

    assert (archive.bucket, archive.prefix) == (bucket, "prod/ticks")
    assert record.uri == f"s3://{bucket}/prod/ticks/ticks/day=2024-03-01/ticks.parquet"
    assert archive.client.meta.region_name == REGION


def test_open_tick_archive_without_keys_takes_the_standard_aws_chain(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    config = TickArchiveConfig(location=f"s3://{new_bucket()}", s3_endpoint=s3_server.endpoint_url)

    archive = open_tick_archive(config)
    assert isinstance(archive, S3TickArchive)
    archive.ensure_bucket()

    assert archive.write_day(DAY1, sim_day(DAY1, 50)).rows > 0


def test_the_archive_config_never_shows_its_keys() -> None:
    config = TickArchiveConfig(
        location="s3://b/p", aws_access_key_id="AKIA-SHOWN-NOWHERE", aws_secret_access_key="hidden-secret"
    )

    assert "AKIA-SHOWN-NOWHERE" not in repr(config)
    assert "hidden-secret" not in repr(config)


def test_open_tick_archive_takes_a_folder_as_local_archive(tmp_path: Path) -> None:
    settings = Settings.from_env({"TRADEGRAPH_HOME": str(tmp_path)})

    archive = open_tick_archive(TickArchiveConfig.from_settings(settings))

    assert isinstance(archive, LocalTickArchive)
    assert archive.root == tmp_path / "archive"


def test_a_client_built_by_the_archive_has_timeouts_and_standard_retries(s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, new_bucket())

    config = archive.client.meta.config

    assert config.retries["mode"] == "standard"
    assert config.retries["total_max_attempts"] == 6
    assert (config.connect_timeout, config.read_timeout) == (5, 60)


def test_a_missing_bucket_is_never_created_implicitly(s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, new_bucket())

    with pytest.raises(ArchiveError) as raised:
        archive.write_day(DAY1, sim_day(DAY1, 10))

    assert archive.bucket in str(raised.value)
    assert "ensure_bucket" in str(raised.value)
    with pytest.raises(ArchiveError, match=archive.bucket):
        archive.days()


def test_ensure_bucket_is_idempotent(s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, new_bucket())

    archive.ensure_bucket()
    archive.ensure_bucket()

    assert archive.days() == []


def test_an_upload_that_lands_corrupted_fails_and_keeps_the_old_day(s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, new_bucket())
    archive.ensure_bucket()
    old = sim_day(DAY1, 200, seed=1)
    archive.write_day(DAY1, old)

    def corrupt_upload(params: dict[str, Any], **_: Any) -> None:
        # Before checksums are computed, so S3 stores the bad bytes as sent (like silent corruption).
        body = params["Body"]
        params["Body"] = body[:-1] + bytes([body[-1] ^ 0xFF])

    archive.client.meta.events.register("before-parameter-build.s3.PutObject", corrupt_upload)
    with pytest.raises(ArchiveVerificationError) as raised:
        archive.write_day(DAY1, sim_day(DAY1, 300, seed=2))
    archive.client.meta.events.unregister("before-parameter-build.s3.PutObject", corrupt_upload)

    assert "2024-03-01" in str(raised.value) and "_staging" in str(raised.value)
    assert archive.read_day(DAY1).equals(archive_order(old))
    keys = [item["Key"] for item in archive.client.list_objects_v2(Bucket=archive.bucket)["Contents"]]
    assert keys == ["tick/archive/ticks/day=2024-03-01/ticks.parquet"]


def test_duckdb_reads_only_the_row_groups_a_filter_keeps(s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, new_bucket(), writer=WriterSettings(row_group_rows=10_000))
    archive.ensure_bucket()
    record = archive.write_day(DAY2, sim_day(DAY2, 200_000))
    fetched: list[int] = []

    def count_range(params: dict[str, Any], **_: Any) -> None:
        first, last = params["headers"]["Range"].removeprefix("bytes=").split("-")
        fetched.append(int(last) - int(first) + 1)

    archive.client.meta.events.register("before-call.s3.GetObject", count_range)
    connection = archive.duckdb_connection([DAY2])
    try:
        start = day_start_us(DAY2) + 12 * 3_600 * 1_000_000
        rows = connection.sql(
            "SELECT count(*) FROM ticks WHERE symbol = 'SOLUSDT' AND trade_time_us >= $start"
            " AND trade_time_us < $end",
            params={"start": start, "end": start + 3_600 * 1_000_000},
        ).fetchall()
    finally:
        connection.close()
        archive.client.meta.events.unregister("before-call.s3.GetObject", count_range)

    assert rows[0][0] > 0
    assert fetched, "the query read nothing through the archive's client"
    assert sum(fetched) < record.bytes * 0.2


def test_wrapped_errors_name_bucket_and_key(s3_server: S3Server) -> None:
    archive = s3_archive(s3_server, new_bucket())
    archive.ensure_bucket()
    archive.client.put_object(
        Bucket=archive.bucket, Key="tick/archive/ticks/day=2024-03-02/ticks.parquet", Body=b"no metadata"
    )

    with pytest.raises(ArchiveError) as raised:
        archive.info(DAY2)

    assert f"s3://{archive.bucket}/tick/archive/ticks/day=2024-03-02/ticks.parquet" in str(raised.value)
    assert "x-amz-meta-sha256" in str(raised.value)


def test_explicit_client_and_client_settings_together_are_rejected(s3_server: S3Server) -> None:
    client = s3_archive(s3_server, new_bucket()).client

    with pytest.raises(ValueError, match="either a client"):
        S3TickArchive("bucket-x", client=client, endpoint_url=s3_server.endpoint_url)


def test_keys_without_a_prefix_start_at_ticks(s3_server: S3Server) -> None:
    archive = S3TickArchive(
        new_bucket(),
        endpoint_url=s3_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )
    archive.ensure_bucket()

    archive.write_day(DAY1, sim_day(DAY1, 10))

    assert archive.parquet_uri(DAY1) == f"s3://{archive.bucket}/ticks/day=2024-03-01/ticks.parquet"
    assert archive.list_days() == [DAY1]
    assert archive.days()[0].day == dt.date(2024, 3, 1)
