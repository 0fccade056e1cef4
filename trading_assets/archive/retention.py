"""Which sealed days may leave the hot tick store: a pure rule, so it is tested without any storage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from resources.archive.base import ArchivedDay


def days_to_drop(
    hot_days: Sequence[dt.date],
    archived: Mapping[dt.date, ArchivedDay],
    store_rows: Mapping[dt.date, int],
    *,
    today: dt.date,
    hot_retention_days: int = 7,
) -> list[dt.date]:
    """Hot days that can be dropped from the store without losing a tick, oldest first.

    A day is dropped only when all hold:

    - it is archived (``archived`` has its record, which the archive wrote only after verifying the
      stored file's footer rows and SHA-256);
    - the archive holds as many rows as the store: ``archived[day].rows == store_rows[day]``, where
      ``store_rows`` must be counted *after* sealing (before, duplicates inflate the store's count, and a
      day with no count is kept);
    - it is older than the retention: ``(today - day).days > hot_retention_days``, so with the default 7
      the store keeps today and the 7 days before it.
    """
    if hot_retention_days < 0:
        raise ValueError(f"hot_retention_days must be >= 0, got {hot_retention_days}")
    drop = []
    for day in sorted(set(hot_days)):
        record = archived.get(day)
        if record is None or store_rows.get(day) != record.rows:
            continue
        if (today - day).days > hot_retention_days:
            drop.append(day)
    return drop
