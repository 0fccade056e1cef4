"""Purged walk-forward splits: every training label ends before its test window starts minus purge and
embargo, no overlap, windows that walk forward; the validation split inside a training window."""

from __future__ import annotations

import numpy as np
import pytest

from trading_assets.models.splits import (
    Split,
    WalkForwardConfig,
    purged_train_indices,
    train_validation_split,
    walk_forward_splits,
)

CONFIGS = [
    WalkForwardConfig(train_rows=500, test_rows=100, horizon=5, purge_rows=5, embargo_rows=5),
    WalkForwardConfig(
        train_rows=300, test_rows=120, horizon=15, purge_rows=20, embargo_rows=61, step_rows=60
    ),
    WalkForwardConfig(train_rows=200, test_rows=150, horizon=1, purge_rows=3, embargo_rows=1, expanding=True),
]


def assert_purged(split: Split, config: WalkForwardConfig) -> None:
    test_start, test_end = int(split.test[0]), int(split.test[-1]) + 1
    label_ends = split.train + 1 + config.horizon  # row t's label reads the open of row t + 1 + horizon
    assert (label_ends < test_start - config.purge_rows - config.embargo_rows).all()
    assert not np.isin(split.train, np.arange(test_start, test_end + config.embargo_rows)).any()
    assert np.intersect1d(split.train, split.test).size == 0


@pytest.mark.parametrize("config", CONFIGS)
def test_every_training_label_ends_before_its_test_window_starts_minus_purge_and_embargo(
    config: WalkForwardConfig,
) -> None:
    # Act
    splits = walk_forward_splits(3_000, config)

    # Assert
    assert len(splits) >= 5
    for split in splits:
        assert_purged(split, config)
        assert (np.diff(split.test) == 1).all() and (np.diff(split.train) == 1).all()
        assert split.train.size == (split.train[-1] + 1 if config.expanding else config.train_rows)
    starts = [int(split.test[0]) for split in splits]
    assert np.diff(starts).tolist() == [config.step] * (len(splits) - 1)
    assert int(splits[-1].test[-1]) == 2_999  # the folds reach the end of the data
    assert all(split.test.size == config.test_rows for split in splits if split.test[-1] < 2_999)


def test_walk_forward_leaves_exactly_the_label_reach_purge_and_embargo_between_train_and_test() -> None:
    config = WalkForwardConfig(train_rows=10, test_rows=5, horizon=2, purge_rows=3, embargo_rows=4)
    first = walk_forward_splits(40, config)[0]
    # The last training row is 9: its label ends at row 12; purge rows 13-15 and embargo rows 16-19.
    assert first.train.tolist() == list(range(10))
    assert first.test.tolist() == list(range(20, 25))


def test_data_too_short_for_one_fold_gives_no_fold() -> None:
    config = CONFIGS[0]
    assert walk_forward_splits(config.train_rows + config.gap_rows, config) == []


def test_the_general_purge_drops_labels_reaching_the_test_and_rows_in_the_embargo_after_it() -> None:
    kept = purged_train_indices(np.arange(100), 40, 60, horizon=4, purge_rows=5, embargo_rows=10)
    # Before: t + 5 < 35, so t <= 29. After: t >= 70.
    assert kept.tolist() == list(range(30)) + list(range(70, 100))


def test_the_validation_window_sits_at_the_end_of_the_training_rows_and_is_purged_too() -> None:
    # Arrange
    config = CONFIGS[1]
    train = walk_forward_splits(3_000, config)[2].train

    # Act
    fit, validation = train_validation_split(
        train,
        validation_rows=60,
        horizon=config.horizon,
        purge_rows=config.purge_rows,
        embargo_rows=config.embargo_rows,
    )

    # Assert
    np.testing.assert_array_equal(validation, train[-60:])
    assert_purged(Split(train=fit, test=validation), config)
    assert fit[0] == train[0] and np.isin(fit, train).all()
    assert fit[-1] + 1 + config.horizon == validation[0] - config.purge_rows - config.embargo_rows - 1


@pytest.mark.parametrize(
    "fields",
    [
        {"purge_rows": 4},  # below the horizon
        {"embargo_rows": 0},
        {"test_rows": 0},
        {"step_rows": 0},
        {"horizon": 0},
    ],
)
def test_a_config_with_purge_or_embargo_below_the_horizon_or_empty_windows_is_refused(
    fields: dict[str, int],
) -> None:
    base = {"train_rows": 100, "test_rows": 10, "horizon": 5, "purge_rows": 5, "embargo_rows": 5}
    with pytest.raises(ValueError):
        WalkForwardConfig(**{**base, **fields})  # type: ignore[arg-type]


def test_a_validation_window_that_leaves_nothing_to_fit_on_is_refused() -> None:
    with pytest.raises(ValueError, match="fit on"):
        train_validation_split(np.arange(30), validation_rows=20, horizon=5, purge_rows=5, embargo_rows=5)
