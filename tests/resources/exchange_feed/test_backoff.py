"""Reconnect/retry backoff as pure functions: grows, is capped, jitters below the ceiling."""

from __future__ import annotations

import random

import pytest

from resources.exchange_feed.backoff import backoff_ceiling, backoff_delay


def test_ceiling_doubles_then_caps() -> None:
    ceilings = [backoff_ceiling(a, initial_s=0.5, max_s=30.0) for a in range(10)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]
    assert backoff_ceiling(10_000, initial_s=0.5, max_s=30.0) == 30.0  # long outages do not overflow


def test_delay_is_full_jitter_below_the_ceiling() -> None:
    assert backoff_delay(3, initial_s=1.0, max_s=60.0, rand=lambda: 0.0) == 0.0
    assert backoff_delay(3, initial_s=1.0, max_s=60.0, rand=lambda: 0.5) == 4.0
    top = [backoff_delay(a, initial_s=1.0, max_s=60.0, rand=lambda: 0.999) for a in range(9)]
    assert top == sorted(top) and top[-1] == pytest.approx(59.94)
    rng = random.Random(7)
    for attempt in range(20):
        ceiling = backoff_ceiling(attempt, initial_s=0.1, max_s=5.0)
        delays = [backoff_delay(attempt, initial_s=0.1, max_s=5.0, rand=rng.random) for _ in range(200)]
        assert all(0.0 <= d < ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not clustered


def test_negative_attempt_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt=-1"):
        backoff_ceiling(-1, initial_s=1.0, max_s=2.0)
