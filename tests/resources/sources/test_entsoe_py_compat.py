"""entsoe-py (the client ENTSO-E users know) reads the energy simulator to the same values as our connector."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest

from tests.resources.sources.entsoe_support import (
    TODAY,
    TOKEN,
    TOMORROW,
    at,
    day_rows,
    entsoe_source,
)
from trading_assets.services.energy_sim import EntsoeApiServer, ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(TODAY, 13))


@pytest.fixture
def api(clock: ManualClock) -> Iterator[EntsoeApiServer]:
    with EntsoeApiServer(token=TOKEN, clock=clock) as server:
        yield server


def _pandas_client(monkeypatch: pytest.MonkeyPatch, api: EntsoeApiServer) -> object:
    """entsoe-py's pandas client pointed at the simulator (its endpoint is the module global ``URL``)."""
    import entsoe.entsoe

    monkeypatch.setattr(entsoe.entsoe, "URL", api.url)
    return entsoe.EntsoePandasClient(api_key=TOKEN, retry_count=1, retry_delay=0, timeout=10)


def _ours(records: pa.Table, day: dt.date, psr_type: str = "") -> dict[int, float]:
    rows = day_rows(records, day)
    rows = rows.filter(pa.compute.equal(rows.column("psr_type"), psr_type))
    return dict(
        zip(rows.column("period_start_us").to_pylist(), rows.column("value").to_pylist(), strict=True)
    )


def _theirs(series: object, day: dt.date) -> dict[int, float]:
    import pandas as pd

    assert isinstance(series, pd.Series)
    start = pd.Timestamp(day, tz="UTC")
    utc = series.tz_convert("UTC")
    utc = utc[(utc.index >= start) & (utc.index < start + pd.Timedelta(days=1))]
    return {int(t.value // 1000): float(v) for t, v in utc.items()}


# entsoe-py 0.8.1 calls sort_index(inplace=True), which pandas deprecates: its warning, not ours.
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_entsoe_py_reads_the_simulator_to_the_same_values_as_our_connector(
    api: EntsoeApiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    client = _pandas_client(monkeypatch, api)
    start, end = pd.Timestamp(TODAY, tz="UTC"), pd.Timestamp(TOMORROW, tz="UTC") + pd.Timedelta(days=1)

    prices = client.query_day_ahead_prices("DE_LU", start=start, end=end)  # type: ignore[attr-defined]
    load = client.query_load_forecast("DE_LU", start=start, end=end)  # type: ignore[attr-defined]
    wind_solar = client.query_wind_and_solar_forecast("DE_LU", start=start, end=end)  # type: ignore[attr-defined]
    generation = client.query_generation_forecast("DE_LU", start=start, end=end)  # type: ignore[attr-defined]
    ours_prices = entsoe_source(api).fetch(None, timeout_s=5.0).records
    ours_load = entsoe_source(api, document_type="A65", process_type="A01").fetch(None, timeout_s=5.0).records
    ours_ws = entsoe_source(api, document_type="A69", process_type="A01").fetch(None, timeout_s=5.0).records
    ours_gen = entsoe_source(api, document_type="A71", process_type="A01").fetch(None, timeout_s=5.0).records

    for day in (TODAY, TOMORROW):
        assert _theirs(prices, day) == _ours(ours_prices, day) and len(_ours(ours_prices, day)) == 24
        assert _theirs(load["Forecasted Load"], day) == _ours(ours_load, day)
        assert len(_ours(ours_load, day)) == 96
        assert _theirs(wind_solar["Solar"], day) == _ours(ours_ws, day, "B16")
        assert _theirs(wind_solar["Wind Onshore"], day) == _ours(ours_ws, day, "B19")
        assert _theirs(generation, day) == _ours(ours_gen, day)


def test_entsoe_py_sees_no_matching_data_where_our_connector_sees_norecords_of(
    api: EntsoeApiServer, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import entsoe.exceptions
    import pandas as pd

    clock.now = at(TODAY, 11)
    client = _pandas_client(monkeypatch, api)
    day = pd.Timestamp(TOMORROW + dt.timedelta(days=1), tz="UTC")

    with pytest.raises(entsoe.exceptions.NoMatchingDataError):
        client.query_load_forecast("DE_LU", start=day, end=day + pd.Timedelta(hours=23))  # type: ignore[attr-defined]
    ours = entsoe_source(api, document_type="A65", process_type="A01", start=TOMORROW + dt.timedelta(days=1))
    assert ours.fetch(None, timeout_s=5.0).records.num_rows == 0
