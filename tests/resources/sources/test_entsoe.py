"""The ``entsoe`` source against the energy simulator's ENTSO-E API on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pytest

from resources.sources.base import SourceError, SourceUnavailableError
from resources.sources.config import parse_sources
from resources.sources.entsoe import EntsoeConfig, EntsoeSource, parse_document
from tests.resources.sources.entsoe_support import (
    DE_LU,
    TODAY,
    TOKEN,
    TOMORROW,
    at,
    day_rows,
    drain,
    entsoe_source,
    records_of,
)
from trading_assets.core.time import day_start_us
from trading_assets.services.energy_sim import EntsoeApiServer, ManualClock, MarketShape
from trading_assets.services.energy_sim.documents import compress_a03


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(at(TODAY, 13))


@pytest.fixture
def api(clock: ManualClock) -> Iterator[EntsoeApiServer]:
    with EntsoeApiServer(token=TOKEN, clock=clock) as server:
        yield server


def test_day_ahead_prices_of_today_and_tomorrow_are_24_points_each_with_a03_gaps_filled(
    api: EntsoeApiServer,
) -> None:
    source = entsoe_source(api)

    batch = source.fetch(None, timeout_s=5.0)

    shape = MarketShape()
    for day in (TODAY, TOMORROW):
        rows = day_rows(batch.records, day).sort_by("period_start_us")
        expected = shape.price(DE_LU, day, 60).tolist()
        assert rows.num_rows == 24
        assert rows.column("value").to_pylist() == expected
        assert len(compress_a03(shape.price(DE_LU, day, 60))) < 24  # the document really left points out
        assert set(rows.column("unit").to_pylist()) == {"EUR/MWH"}
        assert set(rows.column("resolution_minutes").to_pylist()) == {60}
    assert source.spec.periods_per_day == 24
    assert not batch.more and batch.rejected == ()


def test_quarter_hour_prices_are_96_points_aday_rows(clock: ManualClock) -> None:
    with EntsoeApiServer(token=TOKEN, clock=clock, price_resolution_minutes=15) as api:
        source = entsoe_source(api, resolution_minutes=15)

        batch = source.fetch(None, timeout_s=5.0)

    assert source.spec.periods_per_day == 96
    assert day_rows(batch.records, TODAY).num_rows == 96
    assert (
        day_rows(batch.records, TODAY).column("value").to_pylist()
        == MarketShape().price(DE_LU, TODAY, 15).tolist()
    )


def test_a_reissued_forecast_is_a_new_version_beside_the_old_one(
    api: EntsoeApiServer, clock: ManualClock
) -> None:
    source = entsoe_source(api, document_type="A65", process_type="A01", resolution_minutes=15)
    first = source.fetch(None, timeout_s=5.0)
    clock.now = at(TODAY, 19)  # tomorrow's forecast is re-issued at 18:00

    second = source.fetch(first.cursor, timeout_s=5.0)

    shape = MarketShape()
    issue0, issue1 = (shape.forecast("load", DE_LU, TOMORROW, 15, k) for k in (0, 1))
    changed = int((issue0 != issue1).sum())
    assert day_rows(first.records, TOMORROW).column("value").to_pylist() == issue0.tolist()
    assert day_rows(first.records, TODAY).num_rows == 96
    assert second.records.num_rows == changed > 80  # only the values that changed, only tomorrow's
    assert day_rows(second.records, TODAY).num_rows == 0
    assert set(second.records.column("published_us").to_pylist()) == {int(at(TODAY, 18) * 1e6)}
    # One request per day: today's values carry today's 12:00 issue, tomorrow's its first (10:00 today).
    assert set(day_rows(first.records, TODAY).column("published_us").to_pylist()) == {
        int(at(TODAY, 12) * 1e6)
    }
    assert set(day_rows(first.records, TOMORROW).column("published_us").to_pylist()) == {
        int(at(TODAY, 10) * 1e6)
    }
    starts = second.records.column("period_start_us").to_numpy()
    positions = (starts - day_start_us(TOMORROW)) // (15 * 60_000_000)
    assert second.records.column("value").to_pylist() == issue1[positions].tolist()
    # Another document (its own mRID) carries the re-issue.
    assert set(second.records.column("document_mrid").to_pylist()).isdisjoint(
        first.records.column("document_mrid").to_pylist()
    )


def test_no_matching_data_acknowledgement_is_no_records_not_an_error(
    api: EntsoeApiServer, clock: ManualClock
) -> None:
    clock.now = at(TODAY, 11)  # tomorrow's auction result comes at 12:00
    source = entsoe_source(api, start=TOMORROW)

    before = source.fetch(None, timeout_s=5.0)
    clock.now = at(TODAY, 12.5)
    after = source.fetch(before.cursor, timeout_s=5.0)

    assert api.stats.no_data == 1
    assert before.records.num_rows == 0 and before.rejected == ()
    assert after.records.num_rows == 24


def test_a_wrong_token_is_a_clear_source_error_that_does_not_show_the_token(api: EntsoeApiServer) -> None:
    source = entsoe_source(api, security_token="wrong-token-77")

    with pytest.raises(SourceError) as raised:
        source.fetch(None, timeout_s=5.0)

    assert not isinstance(raised.value, SourceUnavailableError)
    assert "security token" in str(raised.value) and "HTTP 401" in str(raised.value)
    assert "wrong-token-77" not in str(raised.value) and "wrong-token-77" not in repr(source.config)
    assert api.stats.unauthorized == 1


def test_an_unchanged_answer_is_304_and_delivers_nothing(api: EntsoeApiServer, clock: ManualClock) -> None:
    source = entsoe_source(api)
    first = source.fetch(None, timeout_s=5.0)
    clock.advance(3600)

    again = source.fetch(first.cursor, timeout_s=5.0)

    assert api.stats.not_modified == 2  # today and tomorrow, each asked on its own
    assert again.records.num_rows == 0 and again.cursor is not None


def test_the_rate_limit_is_unavailable_with_retry_after(clock: ManualClock) -> None:
    with EntsoeApiServer(token=TOKEN, clock=clock, rate_limit=2, rate_window_s=30) as api:
        source = entsoe_source(api)
        source.fetch(None, timeout_s=5.0)  # today and tomorrow: two requests

        with pytest.raises(SourceUnavailableError) as raised:
            source.fetch(None, timeout_s=5.0)

    assert raised.value.retry_after_s is not None and 1 <= raised.value.retry_after_s <= 30


def test_catching_up_from_start_then_a_restart_from_the_cursor_delivers_exactly_once(
    api: EntsoeApiServer,
) -> None:
    start = TODAY - dt.timedelta(days=6)
    whole, _ = drain(entsoe_source(api, start=start, days_per_request=2), None)
    first_run = entsoe_source(api, start=start, days_per_request=2)
    a = first_run.fetch(None, timeout_s=5.0)
    b = first_run.fetch(a.cursor, timeout_s=5.0)
    first_run.close()  # killed after saving b's cursor

    rest, _ = drain(entsoe_source(api, start=start, days_per_request=2), b.cursor)

    assert [batch.more for batch in whole] == [True, True, True, False]
    expected = records_of(whole)
    assert expected.num_rows == 8 * 24
    delivered = records_of([a, b, *rest])
    key = ["period_start_us", "published_us"]
    assert sorted(zip(*(delivered.column(k).to_pylist() for k in key), strict=True)) == sorted(
        zip(*(expected.column(k).to_pylist() for k in key), strict=True)
    )


def test_realised_load_grows_through_the_day_and_each_point_is_delivered_once(
    api: EntsoeApiServer, clock: ManualClock
) -> None:
    source = entsoe_source(api, document_type="A65", process_type="A16", resolution_minutes=15)
    first = source.fetch(None, timeout_s=5.0)
    clock.now = at(TODAY, 14)

    second = source.fetch(first.cursor, timeout_s=5.0)

    assert first.records.num_rows == 51  # periods ended by 12:45, published 15 minutes later
    assert second.records.num_rows == 4
    actual = MarketShape().actual("load", DE_LU, TODAY, 15)
    assert second.records.column("value").to_pylist() == actual[51:55].tolist()


def test_wind_and_solar_are_separate_series_by_psr_type(api: EntsoeApiServer) -> None:
    source = entsoe_source(api, document_type="A69", process_type="A01", resolution_minutes=15)

    batch = source.fetch(None, timeout_s=5.0)

    today = day_rows(batch.records, TODAY)
    assert today.num_rows == 192
    solar = today.filter(pa.compute.equal(today.column("psr_type"), "B16")).sort_by("period_start_us")
    assert solar.column("value").to_pylist() == MarketShape().forecast("solar", DE_LU, TODAY, 15, 3).tolist()
    assert solar.column("value").to_pylist()[0] == 0.0  # no sun at midnight


def test_built_from_a_sources_file_with_the_token_from_the_environment(api: EntsoeApiServer) -> None:
    text = f"""
[[source]]
name = "entsoe_da_prices_de"
kind = "entsoe"
url = "{api.url}"
security_token = "env:ENTSOE_API_KEY"
document_type = "A44"
area = "DE_LU"
start = "2026-11-30"
"""
    (entry,) = parse_sources(text)

    source = entry.build({"ENTSOE_API_KEY": TOKEN})

    assert TOKEN not in repr(source.config) and source.spec.kind == "entsoe"
    assert source.spec.records.version_column == "published_us"


CURVE_A03 = b"""<?xml version="1.0" encoding="UTF-8"?>
<Publication_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:0">
  <mRID>doc-1</mRID><revisionNumber>2</revisionNumber><type>A44</type>
  <createdDateTime>2026-11-29T12:00:00Z</createdDateTime>
  <TimeSeries><mRID>1</mRID><businessType>A62</businessType>
    <in_Domain.mRID codingScheme="A01">10YFR-RTE------C</in_Domain.mRID>
    <currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>
    <curveType>A03</curveType>
    <Period><timeInterval><start>2026-11-29T23:00Z</start><end>2026-11-30T05:00Z</end></timeInterval>
      <resolution>PT60M</resolution>
      <Point><position>1</position><price.amount>10.5</price.amount></Point>
      <Point><position>3</position><price.amount>12</price.amount></Point>
      <Point><position>4</position><price.amount>abc</price.amount></Point>
      <Point><position>9</position><price.amount>1</price.amount></Point>
    </Period>
  </TimeSeries>
</Publication_MarketDocument>"""


def test_a03_positions_repeat_the_previous_point_and_bad_points_are_rejected_with_reasons() -> None:
    rows = parse_document(CURVE_A03, area="x", document_type="A44", process_type=None)

    assert rows.value == [10.5, 10.5, 12.0, 12.0, 12.0, 12.0]
    assert rows.period_start_us[0] == int(at(TODAY, -1) * 1e6)
    assert rows.area == ["10YFR-RTE------C"] * 6 and rows.revision == [2] * 6
    assert [r.reason for r in rows.rejected] == [
        "field 'price.amount': value 'abc' is not a number",
        "field 'position': value 9 is outside 1..6 of the period",
    ]


def test_an_acknowledgement_other_than_no_data_is_an_error_with_its_reason() -> None:
    body = b"""<Acknowledgement_MarketDocument xmlns="urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0">
      <Reason><code>999</code><text>Mandatory parameter in_Domain is missing</text></Reason>
    </Acknowledgement_MarketDocument>"""

    with pytest.raises(SourceError, match="in_Domain is missing"):
        parse_document(body, area="x", document_type="A44", process_type=None)


def test_after_midnight_yesterday_is_asked_once_more_then_the_new_open_days_without_repeats(
    api: EntsoeApiServer, clock: ManualClock
) -> None:
    source = entsoe_source(api, document_type="A65", process_type="A16", resolution_minutes=15)
    evening = source.fetch(None, timeout_s=5.0)
    clock.now = at(TOMORROW, 0.75)  # 00:45: yesterday's last periods and today's first are out

    batches, _ = drain(source, evening.cursor)

    after = records_of(batches)
    assert evening.records.num_rows == 51
    assert not batches[-1].more
    assert day_rows(after, TODAY).num_rows == 96 - 51  # the rest of yesterday, nothing delivered twice
    assert day_rows(after, TOMORROW).num_rows == 2 and after.num_rows == 45 + 2
    actual = MarketShape().actual("load", DE_LU, TODAY, 15)
    assert (
        day_rows(after, TODAY).sort_by("period_start_us").column("value").to_pylist() == actual[51:].tolist()
    )


def test_a_cursor_saved_long_ago_asks_again_at_once_after_learning_the_platforms_date(
    api: EntsoeApiServer, clock: ManualClock
) -> None:
    source = entsoe_source(api)
    old = source.fetch(None, timeout_s=5.0)
    clock.now = at(TODAY + dt.timedelta(days=3), 13)

    stale = source.fetch(old.cursor, timeout_s=5.0)
    batches, _ = drain(source, stale.cursor)

    assert stale.more  # it asked the old window, the Date header told it the platform is 3 days on
    days = {
        d: day_rows(records_of(batches), d).num_rows
        for d in (TODAY + dt.timedelta(days=i) for i in range(2, 5))
    }
    assert days == {
        TODAY + dt.timedelta(days=2): 24,
        TODAY + dt.timedelta(days=3): 24,
        TODAY + dt.timedelta(days=4): 24,
    }


def test_an_unreachable_platform_is_unavailable_and_the_message_hides_the_token(clock: ManualClock) -> None:
    with EntsoeApiServer(token=TOKEN, clock=clock) as gone:
        url = gone.url
    source = EntsoeSource(
        EntsoeConfig(
            name="entsoe_test", url=url, security_token=TOKEN, document_type="A44", area="DE_LU", start=TODAY
        ),
        clock=clock,
    )

    with pytest.raises(SourceUnavailableError) as raised:
        source.fetch(None, timeout_s=2.0)

    assert "cannot connect" in str(raised.value) and "securityToken=***" in str(raised.value)
    assert TOKEN not in str(raised.value) and raised.value.__cause__ is None


def test_a_backfill_keeps_each_day_s_own_publication_time(api: EntsoeApiServer) -> None:
    # One answer has one createdDateTime: a day asked alone keeps its publication (12:00 the day before);
    # asked seven at a time, every day got the seventh day's, and "latest as of the decision" saw nothing.
    start = TODAY - dt.timedelta(days=5)

    batches, _ = drain(entsoe_source(api, start=start), None)

    records = records_of(batches)
    assert api.stats.documents == 7  # five past days, today and tomorrow: one request each
    for offset in range(5):
        day = start + dt.timedelta(days=offset)
        rows = day_rows(records, day)
        assert rows.num_rows == 24
        assert set(rows.column("published_us").to_pylist()) == {int(at(day, -12) * 1_000_000)}


def test_the_live_poll_asks_one_day_per_request_so_today_keeps_its_own_publication_time(
    api: EntsoeApiServer, clock: ManualClock
) -> None:
    # Arrange: caught up at 13:00; today's prices came out yesterday at 12:00, tomorrow's at 12:00 today.
    source = entsoe_source(api)

    # Act
    batch = source.fetch(None, timeout_s=5.0)

    # Assert: asked together, both days would carry tomorrow's (later) createdDateTime.
    assert api.stats.requests == api.stats.documents == 2
    today, tomorrow = day_rows(batch.records, TODAY), day_rows(batch.records, TOMORROW)
    assert today.num_rows == tomorrow.num_rows == 24
    assert set(today.column("published_us").to_pylist()) == {int(at(TODAY, -12) * 1e6)}
    assert set(tomorrow.column("published_us").to_pylist()) == {int(at(TODAY, 12) * 1e6)}
    assert not batch.more


def test_the_live_poll_asks_only_the_day_that_changed_again_in_full(
    api: EntsoeApiServer, clock: ManualClock
) -> None:
    # Arrange: at 11:00 only today's prices are out; tomorrow's answer is "no data yet".
    clock.now = at(TODAY, 11)
    source = entsoe_source(api)
    before = source.fetch(None, timeout_s=5.0)

    # Act: after tomorrow's auction result.
    clock.now = at(TODAY, 12.5)
    after = source.fetch(before.cursor, timeout_s=5.0)

    # Assert: today's answer is unchanged (304), tomorrow's is new, with its own publication time.
    assert day_rows(before.records, TODAY).num_rows == 24 and day_rows(before.records, TOMORROW).num_rows == 0
    assert api.stats.not_modified == 1
    assert day_rows(after.records, TODAY).num_rows == 0
    assert set(after.records.column("published_us").to_pylist()) == {int(at(TODAY, 12) * 1e6)}
    assert after.records.num_rows == 24


def test_a_cursor_saved_before_the_per_day_requests_is_read_and_asks_each_open_day_once(
    api: EntsoeApiServer,
) -> None:
    # Arrange: a cursor as saved by the two-day live poll (one set of validators for the window).
    old = (
        '{"etag":"W/\\"x\\"","last_modified":null,"next_day":"2026-11-30","now_us":null,'
        '"seen":{},"validated":"2026-11-30/2026-12-02"}'
    )
    source = entsoe_source(api)

    # Act
    batch = source.fetch(old, timeout_s=5.0)

    # Assert
    assert api.stats.documents == 2 and api.stats.not_modified == 0
    assert batch.records.num_rows == 48
