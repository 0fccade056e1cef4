"""EnergyConfig: validation, the decision time, and building it from plain options."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.trading_assets.energy.helpers import CONFIG
from trading_assets.core.time import day_start_us
from trading_assets.energy.config import EnergyConfig, energy_config

OPTIONS = {
    "area": "DE",
    "da_prices_source": "entsoe_da_de",
    "load_forecast_source": "entsoe_load_de",
    "generation_forecast_source": "entsoe_wind_solar_de",
    "intraday_trades_source": "intraday_trades_de",
}


def test_the_decision_is_the_day_before_at_the_gate_closure_hour() -> None:
    day = dt.date(2026, 3, 30)
    assert CONFIG.decision_us(day) == day_start_us(day) - 12 * 3_600_000_000
    assert CONFIG.lead_hours == 12
    assert CONFIG.threshold == CONFIG.fee_eur_per_mwh
    assert CONFIG.model_name == "tradegraph-energy-DE"


def test_options_from_a_file_become_a_typed_config() -> None:
    config = energy_config({**OPTIONS, "decision_hour_utc": 11, "fee_eur_per_mwh": "0.3"})
    assert config == EnergyConfig(**OPTIONS, decision_hour_utc=11, fee_eur_per_mwh=0.3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({**OPTIONS, "fee": 1.0}, r"unknown options \['fee'\]"),
        ({k: v for k, v in OPTIONS.items() if k != "area"}, "area: Field required"),
        ({**OPTIONS, "decision_hour_utc": 24}, "decision_hour_utc must be 0..23"),
        ({**OPTIONS, "da_prices_source": "Bad Name"}, "source name 'Bad Name' must match"),
        ({**OPTIONS, "area": "DE-LU"}, "must be letters, digits or '_'"),
        ({**OPTIONS, "fee_eur_per_mwh": -1.0}, "fee_eur_per_mwh must be finite and >= 0"),
    ],
)
def test_bad_options_are_refused_naming_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        energy_config(options)
