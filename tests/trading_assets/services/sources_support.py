"""Shared by the source pipelines' tests: a fast poller config and polling until the source is drained."""

from __future__ import annotations

from trading_assets.services.source_poller import PollerConfig, SourcePoller

FAST = PollerConfig(poll_interval_s=0.5, retry_initial_s=0.01, retry_max_s=0.05)
"""step() only says how long to wait; a wait of poll_interval_s means the source had nothing more."""


def poll_until_done(poller: SourcePoller, *, limit: int = 100) -> None:
    """Step ``poller`` until its source has nothing more (at most ``limit`` steps)."""
    for _ in range(limit):
        if poller.step() == FAST.poll_interval_s:
            return
    raise AssertionError(f"the poller did not finish in {limit} steps: {poller.stats}")
