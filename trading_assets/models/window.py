"""Which days a model learns from and which days score it.

A training run takes a trailing window of consecutive days with features, ending at ``end_day`` (default:
the last day with features). Its last ``holdout_days`` are kept out of training: the champion and the
challenger are scored on them, after both models' training ended. Between the last training row and the
holdout, ``purge`` rows are dropped, so no training label reaches into the holdout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class TrainingWindow:
    """The days of one training run."""

    first_day: dt.date
    """First day of training rows."""
    holdout_first_day: dt.date
    """First day kept out of training (scoring only)."""
    last_day: dt.date
    """Last day of the window (inclusive)."""

    @property
    def days(self) -> list[dt.date]:
        """Every day of the window, oldest first."""
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + dt.timedelta(days=offset) for offset in range(count)]

    @property
    def training_days(self) -> list[dt.date]:
        """Days whose rows may train (before the holdout)."""
        return [day for day in self.days if day < self.holdout_first_day]


def choose_window(
    available: Iterable[dt.date], *, train_days: int, holdout_days: int, end_day: dt.date | None = None
) -> TrainingWindow:
    """The window of ``train_days`` training days plus ``holdout_days`` holdout days ending at ``end_day``.

    Raises ValueError naming the missing days when any day of the window has no features (a label must
    not silently span a missing day), and when there are no features at all.
    """
    if train_days < 1 or holdout_days < 1:
        raise ValueError(f"train_days ({train_days}) and holdout_days ({holdout_days}) must both be >= 1")
    days = set(available)
    if not days:
        raise ValueError("no features are stored: materialize the `features` asset for some days first")
    last = max(days) if end_day is None else end_day
    first = last - dt.timedelta(days=train_days + holdout_days - 1)
    window = TrainingWindow(
        first_day=first, holdout_first_day=last - dt.timedelta(days=holdout_days - 1), last_day=last
    )
    missing = [day for day in window.days if day not in days]
    if missing:
        shown = ", ".join(day.isoformat() for day in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise ValueError(
            f"the training window {first}..{last} ({train_days} training + {holdout_days} holdout days) "
            f"lacks features for {len(missing)} day(s): {shown}. Materialize `features` for them, or "
            "choose a shorter window or an earlier end_day in the run config."
        )
    return window
