"""Which sources feed the energy example and how its strategy trades: :class:`EnergyConfig`."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import pydantic

from resources.sources.base import check_source_name
from trading_assets.core.time import US_PER_DAY, day_start_us
from trading_assets.energy.inputs import HOUR_US

_AREA = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergyConfig:
    """One area's energy example: its four input sources, its decision time and its trading costs."""

    area: str
    """Area label (``DE``): names the model ``tradegraph-energy-<area>`` and the table ``energy_features_<area>``."""
    da_prices_source: str
    """Source of the day-ahead prices (ENTSO-E A44)."""
    load_forecast_source: str
    """Source of the day-ahead load forecast (ENTSO-E A65)."""
    generation_forecast_source: str
    """Source of the wind and solar forecast (ENTSO-E A69)."""
    intraday_trades_source: str
    """Source of the continuous intraday trades (the exchange's trades CSV)."""
    entsoe_area: str | None = None
    """Value of the ENTSO-E records' area column to use (an EIC code); None: every row of the sources."""
    trades_area: str | None = None
    """Value of the trades' area column to use (``DE``); None: every trade of the source."""
    decision_hour_utc: int = 12
    """Hour (UTC) of the day before delivery when the position is decided: the day-ahead gate closure."""
    fee_eur_per_mwh: float = 0.5
    """Fees of one hour's round trip (day-ahead and intraday exchange and clearing fees), EUR per MWh."""
    threshold_eur_per_mwh: float | None = None
    """Stay flat when the predicted spread's size is at most this; None: the fee (a trade must cover it)."""
    position_mw: float = 1.0
    """Size of a position, MW (held for one delivery hour: MWh)."""
    capital_eur: float = 10_000.0
    """Capital the returns, Sharpe ratio and drawdown of the backtest are measured against, EUR."""

    def __post_init__(self) -> None:
        if not _AREA.match(self.area):
            raise ValueError(f"energy area {self.area!r} must be letters, digits or '_' (e.g. DE or DE_LU)")
        for name in (
            self.da_prices_source,
            self.load_forecast_source,
            self.generation_forecast_source,
            self.intraday_trades_source,
        ):
            check_source_name(name)
        if not 0 <= self.decision_hour_utc <= 23:
            raise ValueError(f"decision_hour_utc must be 0..23, got {self.decision_hour_utc}")
        for name in ("fee_eur_per_mwh", "position_mw", "capital_eur"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"EnergyConfig.{name} must be finite and >= 0, got {value!r}")
        if self.position_mw <= 0 or self.capital_eur <= 0:
            raise ValueError("position_mw and capital_eur must be > 0")
        if self.threshold_eur_per_mwh is not None and not self.threshold_eur_per_mwh >= 0:
            raise ValueError(f"threshold_eur_per_mwh must be >= 0, got {self.threshold_eur_per_mwh}")

    @property
    def sources(self) -> tuple[str, str, str, str]:
        """The four input sources: prices, load forecast, wind and solar forecast, intraday trades."""
        return (
            self.da_prices_source,
            self.load_forecast_source,
            self.generation_forecast_source,
            self.intraday_trades_source,
        )

    @property
    def threshold(self) -> float:
        """The predicted spread (EUR/MWh) a trade needs, beyond which the position is taken."""
        return self.fee_eur_per_mwh if self.threshold_eur_per_mwh is None else self.threshold_eur_per_mwh

    @property
    def lead_hours(self) -> int:
        """Hours from the decision to the start of the first delivery hour it trades."""
        return 24 - self.decision_hour_utc

    @property
    def model_name(self) -> str:
        """The registered model: ``tradegraph-energy-<area>``."""
        return f"tradegraph-energy-{self.area}"

    def decision_us(self, day: dt.date) -> int:
        """When the positions of delivery ``day`` are decided: ``decision_hour_utc`` the day before."""
        return day_start_us(day) - US_PER_DAY + self.decision_hour_utc * HOUR_US


def energy_config(options: Mapping[str, object]) -> EnergyConfig:
    """An :class:`EnergyConfig` from plain options (e.g. an ``[energy]`` table of a TOML file).

    Raises ValueError naming each unknown, missing or wrong option.
    """
    known = {field.name for field in dataclasses.fields(EnergyConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"energy config: unknown options {unknown}; known: {sorted(known)}")
    try:
        return pydantic.TypeAdapter(EnergyConfig).validate_python(dict(options))
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or '(options)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ValueError(f"energy config: bad options: {problems}") from None
