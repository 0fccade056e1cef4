"""The tick archive as a Dagster resource: S3 through dagster-aws (any endpoint: AWS, MinIO, moto) or a
local folder. Unset fields come from the environment when a run starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from resources.archive.base import TickArchive


class TickArchiveResource(dg.ConfigurableResource):
    """Opens the archive: ``s3://bucket/prefix`` or a local folder."""

    location: str | None = None
    """``s3://bucket/prefix`` or a folder; unset: TRADEGRAPH_ARCHIVE."""
    s3_endpoint: str | None = None
    """S3 endpoint URL (MinIO, moto); unset: TRADEGRAPH_S3_ENDPOINT, empty for AWS."""
    region_name: str = "us-east-1"
    """S3 region."""

    @contextmanager
    def open(self) -> Iterator[TickArchive]:
        """The archive, closed again when the block ends."""
        from trading_assets.core.settings import Settings

        settings = Settings.from_env()
        location = self.location or settings.archive
        if location.startswith("s3://"):
            from dagster_aws.s3 import S3Resource

            from resources.archive.s3 import S3TickArchive
            from resources.archive.s3_client import parse_s3_url

            endpoint = self.s3_endpoint or settings.s3_endpoint
            # Credentials come from the standard AWS chain (environment, profile, instance role).
            client = S3Resource(
                endpoint_url=endpoint,
                region_name=self.region_name,
                use_ssl=endpoint is None or endpoint.startswith("https"),
                max_attempts=5,
            ).get_client()
            bucket, prefix = parse_s3_url(location)
            archive: TickArchive = S3TickArchive(bucket, prefix, client=client)
        else:
            from resources.archive.local import LocalTickArchive

            archive = LocalTickArchive(Path(location))
        try:
            yield archive
        finally:
            archive.close()
