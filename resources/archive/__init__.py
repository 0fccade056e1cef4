"""Tick archive: one verified zstd Parquet file per UTC day, in a local folder or on S3."""

from resources.archive.base import (
    ArchivedDay,
    ArchiveError,
    ArchiveVerificationError,
    DayNotArchivedError,
    TickArchive,
)
from resources.archive.factory import TickArchiveConfig, open_tick_archive
from resources.archive.layout import WriterSettings
from resources.archive.local import LocalTickArchive
from resources.archive.s3 import S3TickArchive

__all__ = [
    "ArchiveError",
    "ArchiveVerificationError",
    "ArchivedDay",
    "DayNotArchivedError",
    "LocalTickArchive",
    "S3TickArchive",
    "TickArchive",
    "TickArchiveConfig",
    "WriterSettings",
    "open_tick_archive",
]
