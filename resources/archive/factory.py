"""Build the tick archive: the one way the CLI, tests, benchmarks and Dagster open one.

``s3://bucket/prefix`` opens an :class:`~resources.archive.s3.S3TickArchive` whose boto3 client is built
by :func:`resources.archive.s3_client.make_client` (timeouts, retries of transient errors only) on any
endpoint (AWS, MinIO, moto); anything else is a local folder
(:class:`~resources.archive.local.LocalTickArchive`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from resources.archive.base import TickArchive
from trading_assets.core.settings import Settings


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


@dataclass(frozen=True, slots=True, kw_only=True)
class TickArchiveConfig:
    """Where the archive lives and how to reach S3."""

    location: str
    """``s3://bucket/prefix`` or a local folder."""
    s3_endpoint: str | None = None
    """S3 endpoint URL (MinIO, moto); None for AWS."""
    s3_region: str | None = None
    """S3 region; None: boto3's default (AWS_DEFAULT_REGION, else us-east-1)."""
    aws_access_key_id: str | None = field(default=None, repr=False)
    """Access key id; None: boto3's credential chain (profile, instance role)."""
    aws_secret_access_key: str | None = field(default=None, repr=False)
    """Secret access key; None: boto3's credential chain."""
    aws_session_token: str | None = field(default=None, repr=False)
    """Session token of temporary credentials."""

    @property
    def is_s3(self) -> bool:
        """Whether the archive is on S3."""
        return self.location.startswith("s3://")

    @classmethod
    def from_settings(cls, settings: Settings) -> TickArchiveConfig:
        """The archive at TRADEGRAPH_ARCHIVE, with the S3 endpoint, region and keys of the settings."""
        return cls(
            location=settings.archive,
            s3_endpoint=settings.s3_endpoint,
            s3_region=settings.s3_region,
            aws_access_key_id=_secret(settings.s3_access_key_id),
            aws_secret_access_key=_secret(settings.s3_secret_access_key),
            aws_session_token=_secret(settings.s3_session_token),
        )


def open_tick_archive(config: TickArchiveConfig) -> TickArchive:
    """Open the archive ``config`` names; an S3 bucket must exist (``ensure_bucket()`` creates it)."""
    if config.is_s3:
        from resources.archive.s3 import S3TickArchive
        from resources.archive.s3_client import parse_s3_url

        bucket, prefix = parse_s3_url(config.location)
        return S3TickArchive(
            bucket,
            prefix,
            endpoint_url=config.s3_endpoint,
            region_name=config.s3_region,
            aws_access_key_id=config.aws_access_key_id,
            aws_secret_access_key=config.aws_secret_access_key,
            aws_session_token=config.aws_session_token,
        )
    from resources.archive.local import LocalTickArchive

    return LocalTickArchive(Path(config.location))
