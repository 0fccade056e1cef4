"""Choosing a training window of consecutive feature days with a holdout."""

from __future__ import annotations

import datetime as dt

import pytest

from trading_assets.models.window import choose_window

D = dt.date(2024, 3, 1)


def days(n: int) -> list[dt.date]:
    return [D + dt.timedelta(days=i) for i in range(n)]


def test_the_window_ends_at_the_last_day_with_features_and_holds_out_its_last_days() -> None:
    window = choose_window(days(10), train_days=5, holdout_days=2)
    assert window.first_day == D + dt.timedelta(days=3)
    assert window.holdout_first_day == D + dt.timedelta(days=8)
    assert window.last_day == D + dt.timedelta(days=9)
    assert window.training_days == days(8)[3:]


def test_an_end_day_moves_the_window() -> None:
    window = choose_window(days(10), train_days=2, holdout_days=1, end_day=D + dt.timedelta(days=4))
    assert (window.first_day, window.last_day) == (D + dt.timedelta(days=2), D + dt.timedelta(days=4))


def test_a_missing_day_is_named() -> None:
    available = [day for day in days(6) if day != D + dt.timedelta(days=3)]
    with pytest.raises(ValueError, match="2024-03-04"):
        choose_window(available, train_days=4, holdout_days=1)


def test_no_features_says_what_to_materialize() -> None:
    with pytest.raises(ValueError, match="materialize the `features` asset"):
        choose_window([], train_days=4, holdout_days=1)
