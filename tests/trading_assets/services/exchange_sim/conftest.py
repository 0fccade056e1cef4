"""Fixtures: simulated exchanges started in-process (own event loop thread) and always stopped."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.trading_assets.services.exchange_sim.helpers import START_US
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig, FaultConfig

QUIET_FAULTS = FaultConfig(ping_interval_s=None, finnhub_ping_interval_s=None)
"""No faults and no pings: tests turn on exactly what they check."""


@pytest.fixture
def start_sim() -> Iterator[Callable[..., ExchangeSim]]:
    """Start an in-process simulated exchange: ``start_sim(rate=.., faults=FaultConfig(..), ..)``."""
    started: list[ExchangeSim] = []

    def start(**overrides: Any) -> ExchangeSim:
        settings: dict[str, Any] = {"start_us": START_US, "seed": 7, "faults": QUIET_FAULTS}
        settings.update(overrides)
        if "faults" in overrides and isinstance(overrides["faults"], dict):
            settings["faults"] = dataclasses.replace(QUIET_FAULTS, **overrides["faults"])
        sim = ExchangeSim(ExchangeSimConfig(**settings)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()
