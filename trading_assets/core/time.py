"""The one set of time and day helpers.

Every timestamp in tradegraph is an ``int`` of microseconds since the Unix epoch, UTC. A *day* is a UTC
calendar day of exchange trade time; daily partitions, store partitions and archive files all use it.
"""

from __future__ import annotations

import datetime as dt

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
US_PER_DAY = 86_400 * US_PER_SECOND
EPOCH_DAY = dt.date(1970, 1, 1)


_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def day_of(time_us: int) -> int:
    """Days since epoch (UTC) of a microsecond timestamp."""
    return time_us // US_PER_DAY


def date_of(time_us: int) -> dt.date:
    """The UTC date of a microsecond timestamp."""
    return EPOCH_DAY + dt.timedelta(days=day_of(time_us))


def day_number(day: dt.date) -> int:
    """Days since epoch of ``day``."""
    return (day - EPOCH_DAY).days


def day_start_us(day: dt.date) -> int:
    """Midnight UTC at the start of ``day``, in microseconds since epoch."""
    return day_number(day) * US_PER_DAY


def day_bounds_us(day: dt.date) -> tuple[int, int]:
    """``[start, end)`` of ``day`` in microseconds since epoch."""
    start = day_start_us(day)
    return start, start + US_PER_DAY


def parse_day(key: str) -> dt.date:
    """The day of a ``YYYY-MM-DD`` key (a daily partition key), with an error that names the key."""
    try:
        return dt.date.fromisoformat(key)
    except ValueError as exc:
        raise ValueError(f"not a day: {key!r}; expected YYYY-MM-DD, for example 2025-01-31") from exc


def now_us() -> int:
    """The current time in microseconds since epoch."""
    return int(dt.datetime.now(dt.UTC).timestamp() * US_PER_SECOND)


def datetime_us(moment: dt.datetime) -> int:
    """Microseconds since epoch of an aware ``moment``, in exact integer arithmetic (no float rounding)."""
    return (moment - _EPOCH_UTC) // dt.timedelta(microseconds=1)


def day_from_number(number: int) -> dt.date:
    """The date ``number`` days after the epoch (the inverse of :func:`day_number`)."""
    return EPOCH_DAY + dt.timedelta(days=int(number))
