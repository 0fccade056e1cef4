"""The tick archive as a Dagster resource: S3 (AWS, MinIO, moto) or a local folder.

Its fields are the whole configuration (``trading_assets/definitions.py`` sets them from the settings
read when the code location loads), so the Dagster UI shows what a run will use, and ``open()`` reads no
environment: it goes through :func:`resources.archive.factory.open_tick_archive`, the same factory (and
the same S3 client) as the command line. S3 keys are set as ``dg.EnvVar``, so the UI shows the variables'
names, never the keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from resources.archive.base import TickArchive
from resources.archive.factory import TickArchiveConfig, open_tick_archive


class TickArchiveResource(dg.ConfigurableResource):
    """Opens the archive: ``s3://bucket/prefix`` or a local folder."""

    location: str
    """``s3://bucket/prefix`` or a local folder."""
    s3_endpoint: str | None = None
    """S3 endpoint URL (MinIO, moto); unset for AWS."""
    s3_region: str | None = None
    """S3 region; unset: boto3's default."""
    aws_access_key_id: str | None = None
    """S3 access key id, set as an environment variable; unset: boto3's chain (profile, role)."""
    aws_secret_access_key: str | None = None
    """S3 secret access key, set as an environment variable so the UI never shows it."""
    aws_session_token: str | None = None
    """S3 session token, set as an environment variable so the UI never shows it."""

    def config(self) -> TickArchiveConfig:
        """The factory's configuration of this archive."""
        return TickArchiveConfig(
            location=self.location,
            s3_endpoint=self.s3_endpoint,
            s3_region=self.s3_region,
            aws_access_key_id=self.aws_access_key_id,
            aws_secret_access_key=self.aws_secret_access_key,
            aws_session_token=self.aws_session_token,
        )

    @contextmanager
    def open(self) -> Iterator[TickArchive]:
        """The archive, closed again when the block ends."""
        archive = open_tick_archive(self.config())
        try:
            yield archive
        finally:
            archive.close()
