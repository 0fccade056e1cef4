"""The soap source (zeep) against a real spyne SOAP service on 127.0.0.1 (testkit.soap_prices)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from resources.sources.base import SourceBatch, SourceError, SourceUnavailableError
from resources.sources.config import parse_sources
from resources.sources.registry import build_source
from resources.sources.soap import SoapSource
from testkit.soap_prices import Price, SoapPriceService

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
PUBLISHED = DAY - dt.timedelta(hours=12)
US = 1_000_000


def us(moment: dt.datetime) -> int:
    return int((moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds()) * US


def day_prices(area: str, published: dt.datetime, *, base: float = 50.0, hours: int = 24) -> list[Price]:
    return [Price(area, DAY + dt.timedelta(hours=h), base + h, published) for h in range(hours)]


@pytest.fixture
def service() -> Iterator[SoapPriceService]:
    with SoapPriceService(areas=("DE", "FR", "NL")) as started:
        yield started


def soap_source(wsdl: str, **options: Any) -> SoapSource:
    settings: dict[str, Any] = {
        "name": "da_prices",
        "wsdl": wsdl,
        "operation": "GetPrices",
        "arguments": {"area": "DE"},
        "cursor_argument": "since",
        "cursor_column": "published",
        "columns": {"area": "string", "period_start": "time", "price": "float64", "published": "time"},
        "time_column": "period_start",
        "version_column": "published",
        "key": ["area", "period_start", "published"],
        "series": ["area"],
        "periods_per_day": 24,
        "timeout_s": 5.0,
    }
    settings.update(options)
    source = build_source("soap", settings)
    assert isinstance(source, SoapSource)
    return source


def drain(source: SoapSource, cursor: str | None) -> tuple[list[SourceBatch], str | None]:
    batches = []
    for _ in range(50):
        batch = source.fetch(cursor, timeout_s=1.0)
        batches.append(batch)
        cursor = batch.cursor
        if not batch.more:
            return batches, cursor
    raise AssertionError("still more after 50 fetches")


def test_items_become_typed_records(service: SoapPriceService) -> None:
    service.publish(day_prices("DE", PUBLISHED))
    service.publish(day_prices("FR", PUBLISHED))
    with soap_source(service.wsdl) as source:
        batch = source.fetch(None, timeout_s=1.0)

    assert batch.records.schema == source.spec.records.schema
    assert batch.records.num_rows == 24
    assert set(batch.records.column("area").to_pylist()) == {"DE"}
    assert batch.records.column("period_start").to_pylist() == [us(DAY) + h * 3600 * US for h in range(24)]
    assert batch.records.column("price").to_pylist() == [50.0 + h for h in range(24)]
    assert set(batch.records.column("published").to_pylist()) == {us(PUBLISHED)}
    assert batch.rejected == ()


def test_incremental_fetch_via_the_cursor_delivers_each_revision_once_with_exact_counts(
    service: SoapPriceService,
) -> None:
    service.publish(day_prices("DE", PUBLISHED))
    with soap_source(service.wsdl) as source:
        first = source.fetch(None, timeout_s=1.0)
        idle = source.fetch(first.cursor, timeout_s=1.0)
        # A revision of 6 hours (a new publication time), and another area's prices.
        revised = PUBLISHED + dt.timedelta(hours=2)
        service.publish([Price("DE", DAY + dt.timedelta(hours=h), 70.0 + h, revised) for h in range(6)])
        service.publish(day_prices("FR", revised))
        second = source.fetch(idle.cursor, timeout_s=1.0)
        third = source.fetch(second.cursor, timeout_s=1.0)

    assert first.records.num_rows == 24
    assert idle.records.num_rows == 0
    assert second.records.num_rows == 6
    assert second.records.column("price").to_pylist() == [70.0 + h for h in range(6)]
    assert set(second.records.column("published").to_pylist()) == {us(revised)}
    assert third.records.num_rows == 0


def test_items_published_at_the_cursor_instant_after_a_fetch_are_not_lost(service: SoapPriceService) -> None:
    service.publish(day_prices("DE", PUBLISHED, hours=3))
    with soap_source(service.wsdl) as source:
        first = source.fetch(None, timeout_s=1.0)
        service.publish([Price("DE", DAY + dt.timedelta(hours=3), 53.0, PUBLISHED)])
        second = source.fetch(first.cursor, timeout_s=1.0)

    assert first.records.num_rows == 3
    assert second.records.column("period_start").to_pylist() == [us(DAY) + 3 * 3600 * US]


def test_a_restart_resumes_from_the_saved_cursor(service: SoapPriceService) -> None:
    service.publish(day_prices("DE", PUBLISHED))
    with soap_source(service.wsdl) as source:
        saved = source.fetch(None, timeout_s=1.0).cursor
    service.publish(day_prices("DE", PUBLISHED + dt.timedelta(hours=1), base=60.0))
    with soap_source(service.wsdl) as restarted:
        resumed = restarted.fetch(saved, timeout_s=1.0)
    assert resumed.records.num_rows == 24
    assert resumed.records.column("price").to_pylist() == [60.0 + h for h in range(24)]


def test_pages_set_more_until_the_service_has_no_more(service: SoapPriceService) -> None:
    for hour in range(30):
        service.publish(
            [Price("NL", DAY + dt.timedelta(hours=hour), 40.0, PUBLISHED + dt.timedelta(minutes=hour))]
        )
    with soap_source(service.wsdl, arguments={"area": "NL", "limit": 8}, page_size=8) as source:
        batches, _ = drain(source, None)

    assert [b.more for b in batches] == [True] * (len(batches) - 1) + [False]
    counts = [b.records.num_rows for b in batches]
    # Each page after the first re-reads the item at the cursor instant (inclusive since) and drops it.
    assert counts == [8, 7, 7, 7, 1]
    assert sum(counts) == 30


def test_the_first_call_starts_at_cursor_start(service: SoapPriceService) -> None:
    service.publish(day_prices("DE", PUBLISHED))
    service.publish(day_prices("DE", PUBLISHED + dt.timedelta(days=1), base=90.0))
    with soap_source(service.wsdl, cursor_start=PUBLISHED + dt.timedelta(hours=1)) as source:
        batch = source.fetch(None, timeout_s=1.0)
    assert batch.records.num_rows == 24
    assert min(batch.records.column("price").to_pylist()) == 90.0


def test_items_that_do_not_fit_a_column_are_rejected_and_the_rest_kept(service: SoapPriceService) -> None:
    prices = day_prices("DE", PUBLISHED, hours=4)
    # The service publishes a NaN price for hour 2 (xsd:double allows it; a price column does not).
    prices[2] = Price("DE", prices[2].period_start, float("nan"), PUBLISHED)
    service.publish(prices)
    with soap_source(service.wsdl) as source:
        batch = source.fetch(None, timeout_s=1.0)

    assert batch.records.column("price").to_pylist() == [50.0, 51.0, 53.0]
    assert len(batch.rejected) == 1
    assert batch.rejected[0].reason.startswith("GetPrices item 2: field 'price': nan is not a float64")
    assert b'"area": "DE"' in batch.rejected[0].payload


def test_a_soap_fault_is_a_source_error_with_the_fault_string(service: SoapPriceService) -> None:
    with soap_source(service.wsdl, arguments={"area": "XX"}) as source, pytest.raises(SourceError) as raised:
        source.fetch(None, timeout_s=1.0)
    assert not isinstance(raised.value, SourceUnavailableError)
    assert "unknown area 'XX'" in str(raised.value)
    assert "UnknownArea" in str(raised.value)


def test_a_service_that_is_down_is_unavailable_also_at_start(service: SoapPriceService) -> None:
    wsdl = service.wsdl
    service.stop()
    source = soap_source(wsdl)
    with pytest.raises(SourceUnavailableError):
        source.fetch(None, timeout_s=1.0)


def test_a_service_going_down_after_the_wsdl_is_loaded_is_unavailable() -> None:
    with SoapPriceService() as service:
        source = soap_source(service.wsdl)
        source.fetch(None, timeout_s=1.0)
    with pytest.raises(SourceUnavailableError, match="ConnectionError"):
        source.fetch(None, timeout_s=1.0)


def test_http_503_is_unavailable_with_the_retry_after(service: SoapPriceService) -> None:
    with soap_source(service.wsdl) as source:
        source.fetch(None, timeout_s=1.0)
        service.unavailable = True
        with pytest.raises(SourceUnavailableError, match="HTTP 503") as raised:
            source.fetch(None, timeout_s=1.0)
        service.unavailable = False
        recovered = source.fetch(None, timeout_s=1.0)
    assert raised.value.retry_after_s == 1.0
    assert recovered.records.num_rows == 0


def test_an_unknown_operation_is_a_source_error(service: SoapPriceService) -> None:
    with (
        soap_source(service.wsdl, operation="GetVolumes") as source,
        pytest.raises(SourceError, match="GetVolumes"),
    ):
        source.fetch(None, timeout_s=1.0)


def test_cursor_options_must_come_together() -> None:
    with pytest.raises(ValueError, match="cursor_argument and cursor_column"):
        build_source(
            "soap",
            {
                "name": "x",
                "wsdl": "http://127.0.0.1:1/?wsdl",
                "operation": "Op",
                "columns": {"t": "int64"},
                "time_column": "t",
                "key": ["t"],
                "cursor_argument": "since",
            },
        )


def test_configured_from_a_sources_file(service: SoapPriceService) -> None:
    service.publish(day_prices("FR", PUBLISHED))
    text = f"""
[[source]]
name = "da_prices_fr"
kind = "soap"
wsdl = "{service.wsdl}"
operation = "GetPrices"
arguments = {{ area = "FR" }}
cursor_argument = "since"
cursor_column = "published"
cursor_start = 2026-01-04T00:00:00Z
columns = {{ area = "string", period_start = "time", price = "float64", published = "time" }}
time_column = "period_start"
version_column = "published"
key = ["area", "period_start", "published"]
series = ["area"]
periods_per_day = 24
"""
    (entry,) = parse_sources(text)
    with entry.build({}) as source:
        batch = source.fetch(None, timeout_s=1.0)
    assert batch.records.num_rows == 24
    assert source.spec.periods_per_day == 24
    assert source.spec.records.version_column == "published"
