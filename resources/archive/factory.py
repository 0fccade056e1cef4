"""Open the tick archive that the settings name: a local folder, or ``s3://bucket/prefix``."""

from __future__ import annotations

from pathlib import Path

from resources.archive.base import TickArchive
from trading_assets.core.settings import Settings


def open_tick_archive(settings: Settings) -> TickArchive:
    """The archive at ``TRADEGRAPH_ARCHIVE``.

    ``s3://bucket/prefix`` opens an :class:`~resources.archive.s3.S3TickArchive` on
    ``TRADEGRAPH_S3_ENDPOINT`` (empty: AWS) with credentials from the standard AWS environment variables;
    anything else is a local folder (:class:`~resources.archive.local.LocalTickArchive`).
    """
    if settings.archive.startswith("s3://"):
        from resources.archive.s3 import S3TickArchive

        return S3TickArchive.from_settings(settings)
    from resources.archive.local import LocalTickArchive

    return LocalTickArchive(Path(settings.archive))
