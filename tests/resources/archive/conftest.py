"""Fixtures for the archive tests: each archive backend, fresh per test, and ways to touch its raw files."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from resources.archive import LocalTickArchive, S3TickArchive, TickArchive, WriterSettings
from resources.archive.layout import day_start_us
from testkit.servers.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Server
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.simulation import simulate_day

DAY1 = dt.date(2024, 3, 1)
DAY2 = dt.date(2024, 3, 2)
DAY3 = dt.date(2024, 3, 3)


def sim_day(day: dt.date, ticks: int = 3_000, *, seed: int = 7) -> pa.Table:
    """Up to ``ticks`` simulated ticks of 5 symbols on ``day``, in exchange-time order (not archive order).

    simulate_day's Poisson arrivals can run past midnight for small ``ticks``; those are cut off, so
    use ``num_rows`` of the result rather than ``ticks``.
    """
    table = simulate_day(day_start_us=day_start_us(day), ticks=ticks, seed=seed)
    return table.filter(pc.field("trade_time_us") < day_start_us(day) + US_PER_DAY)


def archive_order(ticks: pa.Table) -> pa.Table:
    """``ticks`` in the order the archive returns them."""
    return ticks.sort_by([(name, "ascending") for name in ("venue", "symbol", "trade_time_us", "trade_id")])


def new_bucket() -> str:
    """A bucket name no other test uses."""
    return f"archive-test-{uuid.uuid4().hex[:16]}"


def s3_archive(server: S3Server, bucket: str, *, writer: WriterSettings | None = None) -> S3TickArchive:
    """An S3 archive on the moto server under prefix ``tick/archive`` (bucket not created)."""
    return S3TickArchive(
        bucket,
        "tick/archive",
        endpoint_url=server.endpoint_url,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        writer=writer,
    )


@pytest.fixture(params=["local", "s3"])
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TickArchive]:
    if request.param == "local":
        with LocalTickArchive(tmp_path / "archive") as local:
            yield local
        return
    server: S3Server = request.getfixturevalue("s3_server")
    with s3_archive(server, new_bucket()) as remote:
        remote.ensure_bucket()
        yield remote


def stored_bytes(archive: TickArchive, day: dt.date) -> bytes:
    """The raw bytes of ``day``'s file, read around the archive."""
    if isinstance(archive, S3TickArchive):
        key = archive.parquet_uri(day).removeprefix(f"s3://{archive.bucket}/")
        return bytes(archive.client.get_object(Bucket=archive.bucket, Key=key)["Body"].read())
    return Path(archive.parquet_uri(day)).read_bytes()


def overwrite(archive: TickArchive, day: dt.date, data: bytes) -> None:
    """Replace ``day``'s file behind the archive's back, keeping its recorded metadata."""
    if isinstance(archive, S3TickArchive):
        key = archive.parquet_uri(day).removeprefix(f"s3://{archive.bucket}/")
        metadata = archive.client.head_object(Bucket=archive.bucket, Key=key)["Metadata"]
        archive.client.put_object(Bucket=archive.bucket, Key=key, Body=data, Metadata=metadata)
        return
    Path(archive.parquet_uri(day)).write_bytes(data)


def stored_names(archive: TickArchive) -> list[str]:
    """Every file or object the archive holds, relative to its root, sorted."""
    if isinstance(archive, S3TickArchive):
        listed = archive.client.list_objects_v2(Bucket=archive.bucket).get("Contents", [])
        return sorted(item["Key"].removeprefix(f"{archive.prefix}/") for item in listed)
    assert isinstance(archive, LocalTickArchive)
    return sorted(str(path.relative_to(archive.root)) for path in archive.root.rglob("*") if path.is_file())
