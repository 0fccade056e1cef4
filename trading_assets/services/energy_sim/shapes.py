"""Realistic, deterministic daily shapes of a power market: load, solar, wind, day-ahead prices, forecasts.

Everything is a pure function of (seed, area, day): the same seed serves the same values on every run,
so tests can compute what a connector must have received. Values per delivery period of a UTC day at a
resolution of 15, 30 or 60 minutes (an hourly value is the value at the hour's start).

- load: a base level with a morning and an evening peak, a night trough and a weekend dip, plus noise;
- solar: a bell between sunrise and sunset whose height varies with the season and the day's clouds;
- wind: a slowly wandering level (smooth noise) per day;
- day-ahead price: a merit-order staircase of the net load (load - solar - wind) shifted by the day's
  fuel price, so neighbouring hours served by the same plant share a price (that is what ENTSO-E's
  curve type A03 compresses);
- forecasts: the actual value plus an error that shrinks with each re-issue.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import numpy as np

FORECAST_ISSUES_H = (-14.0, -6.0, 6.0, 12.0)
"""Hours from a delivery day's start (UTC) at which its forecasts are issued: two the day before, two on
the day; each issue is a new version with a later createdDateTime."""
PRICES_PUBLISHED_H = -12.0
"""The day-ahead auction's result for a delivery day is published at 12:00 UTC the day before."""
ACTUAL_LAG_MINUTES = 15
"""Realised values of a period are published this long after the period ends."""

# Merit order: (cumulative capacity as a share of the peak load, marginal cost EUR/MWh).
_MERIT_ORDER = (
    (0.15, 0.0),  # must-run and renewables bidding zero
    (0.35, 12.5),  # nuclear
    (0.55, 38.0),  # lignite
    (0.72, 64.0),  # hard coal
    (0.86, 92.0),  # combined-cycle gas
    (0.97, 140.0),  # older gas
    (9.99, 260.0),  # peakers and oil
)


def _rng(seed: int, *parts: object) -> np.random.Generator:
    """A generator fixed by ``seed`` and ``parts`` (stable across runs and platforms)."""
    text = "|".join(str(p) for p in (seed, *parts)).encode()
    return np.random.default_rng(int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little"))


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketShape:
    """The size and seed of one simulated market (all areas are scaled from it)."""

    seed: int = 7
    """Seed of every random part."""
    peak_load_mw: float = 70_000.0
    """Typical weekday evening peak of the load."""
    solar_mw: float = 50_000.0
    """Installed solar capacity (a clear midsummer noon reaches about 70 % of it)."""
    wind_mw: float = 60_000.0
    """Installed wind capacity."""

    def _area_scale(self, area: str) -> float:
        # Areas differ in size, deterministically.
        return 0.3 + 0.7 * _rng(self.seed, "scale", area).random()

    def times_h(self, resolution_minutes: int) -> np.ndarray:
        """Hours of the day (UTC) at which the day's delivery periods start."""
        return np.arange(0, 1440, resolution_minutes, dtype=np.float64) / 60.0

    def load(self, area: str, day: dt.date, resolution_minutes: int) -> np.ndarray:
        """Realised load (MW) of each delivery period of ``day``."""
        hours = self.times_h(resolution_minutes)
        shape = (
            0.62
            + 0.25 * np.exp(-(((hours - 8.0) / 2.2) ** 2))  # morning peak
            + 0.33 * np.exp(-(((hours - 18.5) / 2.6) ** 2))  # evening peak
            + 0.12 * np.exp(-(((hours - 13.0) / 4.0) ** 2))  # working day plateau
        )
        weekend = 0.82 if day.weekday() >= 5 else 1.0
        season = 1.0 + 0.12 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)
        noise = _rng(self.seed, "load", area, day).normal(0.0, 0.012, hours.size)
        return self.peak_load_mw * self._area_scale(area) * season * weekend * (shape / 1.2) * (1 + noise)

    def solar(self, area: str, day: dt.date, resolution_minutes: int) -> np.ndarray:
        """Solar generation (MW): a bell between sunrise and sunset, zero at night."""
        hours = self.times_h(resolution_minutes) + resolution_minutes / 120.0  # the period's middle
        summer = math.cos(2 * math.pi * (day.timetuple().tm_yday - 172) / 365.25)  # 1 midsummer, -1 midwinter
        daylight = 12.0 + 4.0 * summer
        sunrise = 12.0 - daylight / 2.0
        phase = np.clip((hours - sunrise) / daylight, 0.0, 1.0)
        clouds = 0.35 + 0.65 * _rng(self.seed, "clouds", area, day).random()
        height = (0.45 + 0.25 * summer) * clouds
        bell = np.where((phase > 0) & (phase < 1), np.sin(np.pi * phase) ** 2, 0.0)  # exactly 0 at night
        return self.solar_mw * self._area_scale(area) * height * bell

    def wind(self, area: str, day: dt.date, resolution_minutes: int) -> np.ndarray:
        """Wind generation (MW): a day's level with smooth noise around it."""
        hours = self.times_h(resolution_minutes)
        rng = _rng(self.seed, "wind", area, day)
        level = 0.1 + 0.5 * rng.random()
        wobble = sum(
            amplitude * np.sin(2 * np.pi * hours / period + phase)
            for amplitude, period, phase in zip(
                rng.uniform(0.02, 0.08, 3), (24.0, 9.0, 4.0), rng.uniform(0, 2 * np.pi, 3), strict=True
            )
        )
        return self.wind_mw * self._area_scale(area) * np.clip(level + wobble, 0.01, 0.95)

    def price(self, area: str, day: dt.date, resolution_minutes: int) -> np.ndarray:
        """Day-ahead price (EUR/MWh, 2 decimals): the merit-order step of the net load, shifted by fuel."""
        net = (
            self.load(area, day, resolution_minutes)
            - self.solar(area, day, resolution_minutes)
            - self.wind(area, day, resolution_minutes)
        ) / (self.peak_load_mw * self._area_scale(area))
        fuel = 0.85 + 0.3 * _rng(self.seed, "fuel", area, day).random()
        prices = np.empty(net.size)
        for i, share in enumerate(net):
            if share < 0:
                prices[i] = -5.0  # more renewables than load: negative prices
                continue
            for capacity, cost in _MERIT_ORDER:
                if share <= capacity:
                    prices[i] = cost * fuel
                    break
        return np.round(prices, 2)

    def actual(self, series: str, area: str, day: dt.date, resolution_minutes: int) -> np.ndarray:
        """Realised values of ``series`` (``load``, ``solar``, ``wind``, ``generation``)."""
        if series == "generation":
            # Scheduled generation follows the load (imports and exports left out).
            values = self.load(area, day, resolution_minutes) * 1.03
        else:
            values = getattr(self, series)(area, day, resolution_minutes)
        return np.round(values, 0)  # whole MW, as the platform publishes them

    def forecast(
        self, series: str, area: str, day: dt.date, resolution_minutes: int, issue: int
    ) -> np.ndarray:
        """Issue ``issue`` (0..3) of the forecast of ``series``: actual plus an error shrinking per issue."""
        actual = self.actual(series, area, day, resolution_minutes)
        spread = (0.06, 0.04, 0.025, 0.015)[issue]
        error = _rng(self.seed, "forecast", series, area, day, issue).normal(0.0, spread, actual.size)
        return np.round(np.clip(actual * (1 + error), 0.0, None), 0)
