"""The ``rest`` source against a real JSON listing on 127.0.0.1: pages, 304, Retry-After, bad items, restarts."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterator

import pytest

from resources.sources.base import SourceBatch, SourceError, SourceUnavailableError
from resources.sources.config import parse_sources
from resources.sources.http import redact_url
from resources.sources.registry import build_source
from resources.sources.rest import RestConfig, RestSource
from testkit.listing_server import ListingServer

ITEMS = [{"t": 1_000 + i, "area": "DE", "price": 40.0 + i, "final": i % 2 == 0} for i in range(25)]


def _source(server: ListingServer, **options: object) -> RestSource:
    if server.mode == "cursor":
        options.setdefault("next_param", "cursor")  # the page token goes back as ?cursor=
    config = RestConfig(
        name="prices",
        url=server.url,
        columns={"t": "int64", "area": "string", "price": "float64", "final": "bool"},
        time_column="t",
        key=("area", "t"),
        series=("area",),
        timeout_s=5.0,
        **options,  # type: ignore[arg-type]
    )
    return RestSource(config)


@pytest.fixture
def listing(request: pytest.FixtureRequest) -> Iterator[ListingServer]:
    mode = getattr(request, "param", "next_url")
    with ListingServer(page_size=10, mode=mode) as server:
        yield server


def _drain(source: RestSource, cursor: str | None) -> tuple[list[SourceBatch], str | None]:
    """Fetch until the source says nothing more is ready; the batches and the last cursor."""
    batches = []
    for _ in range(20):
        batch = source.fetch(cursor, timeout_s=5.0)
        batches.append(batch)
        cursor = batch.cursor if batch.cursor is not None else cursor
        if not batch.more:
            return batches, cursor
    raise AssertionError("the source never stopped saying more")


def _times(batches: list[SourceBatch]) -> list[int]:
    return [t for batch in batches for t in batch.records.column("t").to_pylist()]


@pytest.mark.parametrize("listing", ["next_url", "cursor", "link"], indirect=True)
def test_pages_are_followed_until_the_last_page_each_page_one_fetch(listing: ListingServer) -> None:
    listing.publish(ITEMS)
    source = _source(listing)

    batches, _ = _drain(source, None)

    assert [batch.more for batch in batches] == [True, True, False]
    assert [batch.records.num_rows for batch in batches] == [10, 10, 5]
    assert _times(batches) == [item["t"] for item in ITEMS]
    assert batches[0].records.column("final").to_pylist()[:2] == [True, False]


def test_a_bare_json_list_is_one_page(listing: ListingServer) -> None:
    listing.mode = "list"
    listing.publish(ITEMS)

    batches, _ = _drain(_source(listing), None)

    assert len(batches) == 1 and batches[0].records.num_rows == 25


def test_an_unchanged_listing_answers_304_and_nothing_is_delivered(listing: ListingServer) -> None:
    listing.publish(ITEMS[:5])
    source = _source(listing)
    _, cursor = _drain(source, None)

    again = source.fetch(cursor, timeout_s=5.0)

    assert listing.not_modified == 1
    assert again.records.num_rows == 0 and again.cursor is None and not again.more
    assert listing.requests[-1][1]["If-None-Match"].startswith('"')
    assert "If-Modified-Since" in listing.requests[-1][1]


def test_with_a_since_parameter_a_poll_asks_only_for_newer_items(listing: ListingServer) -> None:
    listing.publish(ITEMS[:12])
    source = _source(listing, since_param="since")
    first, cursor = _drain(source, None)
    listing.publish([{"t": 5_000, "area": "DE", "price": 1.5, "final": True}])

    second, cursor = _drain(source, cursor)

    assert _times(first) == [item["t"] for item in ITEMS[:12]]
    assert _times(second) == [5_000]
    assert "since=1011" in listing.requests[-1][0]
    assert json.loads(cursor or "{}")["since"] == 5_000


def test_items_that_do_not_fit_the_columns_are_rejected_with_field_and_value_others_kept(
    listing: ListingServer,
) -> None:
    listing.publish(
        [
            {"t": 1, "area": "DE", "price": 10.0, "final": True},
            {"t": 2, "area": "DE", "price": "ten", "final": True},
            {"t": 3, "area": "DE", "final": True},
            {"t": 4, "area": 7, "price": 1.0, "final": False},
            {"t": 5, "area": "DE", "price": 12, "final": "yes"},
            "not an object",
            {"t": "2026-11-30T10:00:00Z", "area": "DE", "price": 11.0, "final": False},
        ]
    )

    batch = _source(listing).fetch(None, timeout_s=5.0)

    assert batch.records.column("t").to_pylist() == [1, 1_796_032_800_000_000]
    reasons = [r.reason for r in batch.rejected]
    assert reasons == [
        "field 'price': 'ten' is not a float64",
        "field 'price' is missing",
        "field 'area': 7 is not a string",
        "field 'final': 'yes' is not a bool",
        "item 'not an object' is not an object",
    ]
    assert json.loads(batch.rejected[0].payload)["price"] == "ten"


def test_429_with_retry_after_seconds_is_unavailable_with_the_wait(listing: ListingServer) -> None:
    listing.refuse(429, {"Retry-After": "7"})

    with pytest.raises(SourceUnavailableError) as raised:
        _source(listing).fetch(None, timeout_s=5.0)

    assert raised.value.retry_after_s == 7.0


def test_503_with_retry_after_as_an_http_date_gives_the_seconds_until_then(listing: ListingServer) -> None:
    listing.refuse(503, {"Retry-After": email.utils.formatdate(time.time() + 30, usegmt=True)})

    with pytest.raises(SourceUnavailableError) as raised:
        _source(listing).fetch(None, timeout_s=5.0)

    assert raised.value.retry_after_s is not None and 27 <= raised.value.retry_after_s <= 30


def test_a_500_is_unavailable_and_the_next_fetch_from_the_same_cursor_succeeds(
    listing: ListingServer,
) -> None:
    listing.publish(ITEMS[:3])
    listing.refuse(500)
    source = _source(listing)

    with pytest.raises(SourceUnavailableError) as raised:
        source.fetch(None, timeout_s=5.0)
    batch = source.fetch(None, timeout_s=5.0)

    assert raised.value.retry_after_s is None
    assert batch.records.num_rows == 3


def test_a_404_is_a_source_error_naming_url_and_status_without_the_secret(listing: ListingServer) -> None:
    listing.refuse(404)
    # The URL carries an API key in its query.
    secret_source = RestSource(
        RestConfig(
            name="prices",
            url=f"{listing.url}?api_key=s3cr3t&area=DE",
            columns={"t": "int64"},
            time_column="t",
            key=("t",),
        )
    )

    with pytest.raises(SourceError) as raised:
        secret_source.fetch(None, timeout_s=5.0)

    message = str(raised.value)
    assert not isinstance(raised.value, SourceUnavailableError)
    assert "HTTP 404" in message and "/items" in message and "area=DE" in message
    assert "s3cr3t" not in message and "api_key=***" in message


def test_a_server_slower_than_the_timeout_is_unavailable(listing: ListingServer) -> None:
    listing.publish(ITEMS[:1])
    listing.delay_s = 1.0
    source = RestSource(
        RestConfig(
            name="prices", url=listing.url, columns={"t": "int64"}, time_column="t", key=("t",), timeout_s=0.2
        )
    )

    with pytest.raises(SourceUnavailableError, match=r"no answer within 0\.2 s"):
        source.fetch(None, timeout_s=5.0)


def test_a_cannot_connect_is_unavailable() -> None:
    with ListingServer() as gone:
        url = gone.url
    source = RestSource(
        RestConfig(name="prices", url=url, columns={"t": "int64"}, time_column="t", key=("t",))
    )

    with pytest.raises(SourceUnavailableError, match="cannot connect"):
        source.fetch(None, timeout_s=1.0)


@pytest.mark.parametrize("listing", ["next_url", "cursor", "link"], indirect=True)
def test_a_restart_from_the_saved_cursor_resumes_at_the_next_page_with_exact_counts(
    listing: ListingServer,
) -> None:
    listing.publish(ITEMS)
    first_run = _source(listing, since_param="since")
    page_one = first_run.fetch(None, timeout_s=5.0)
    first_run.close()  # the poller is killed after saving page one's cursor

    restarted = _source(listing, since_param="since")
    rest, cursor = _drain(restarted, page_one.cursor)
    listing.publish([{"t": 9_000, "area": "DE", "price": 1.0, "final": True}])
    newer, _ = _drain(restarted, cursor)

    delivered = _times([page_one]) + _times(rest)
    assert delivered == [item["t"] for item in ITEMS]  # nothing lost, nothing twice
    assert _times(newer) == [9_000]


def test_built_from_a_sources_file_with_a_header_from_the_environment(listing: ListingServer) -> None:
    listing.publish(ITEMS[:2])
    text = f"""
[[source]]
name = "prices"
kind = "rest"
url = "{listing.url}"
columns = {{ t = "int64", price = "float64" }}
time_column = "t"
key = ["t"]
periods_per_day = 24
headers = {{ "X-Api-Key" = "env:PRICES_KEY" }}
"""
    (entry,) = parse_sources(text)

    source = entry.build({"PRICES_KEY": "k-123"})
    batch = source.fetch(None, timeout_s=5.0)

    assert source.spec.periods_per_day == 24 and source.spec.records.key == ("t",)
    assert batch.records.column("price").to_pylist() == [40.0, 41.0]
    assert listing.requests[-1][1]["X-Api-Key"] == "k-123"
    assert "k-123" not in repr(source.config)  # type: ignore[attr-defined]


def test_bad_options_are_refused_naming_the_option() -> None:
    with pytest.raises(ValueError, match="columns"):
        build_source(
            "rest",
            {"name": "p", "url": "http://x/", "columns": {"t": "decimal"}, "time_column": "t", "key": ["t"]},
        )
    with pytest.raises(ValueError, match="must be listed as int64"):
        build_source(
            "rest",
            {"name": "p", "url": "http://x/", "columns": {"t": "string"}, "time_column": "t", "key": ["t"]},
        )


def test_redact_url_hides_secret_query_values_only() -> None:
    assert redact_url("http://h/api?securityToken=abc&documentType=A44") == (
        "http://h/api?securityToken=***&documentType=A44"
    )


def test_with_a_version_column_a_revised_value_is_a_second_record_with_its_own_key(
    listing: ListingServer,
) -> None:
    listing.publish(
        [
            {"t": 1, "area": "DE", "value": 10.0, "published": "2026-11-30T10:00:00Z"},
            {"t": 1, "area": "DE", "value": 11.0, "published": "2026-11-30T12:00:00Z"},
        ]
    )
    source = RestSource(
        RestConfig(
            name="forecasts",
            url=listing.url,
            columns={"t": "int64", "area": "string", "value": "float64", "published": "int64"},
            time_column="t",
            key=("area", "t"),
            version_column="published",
        )
    )

    batch = source.fetch(None, timeout_s=5.0)

    assert source.spec.records.key == ("area", "t", "published")
    assert batch.records.column("value").to_pylist() == [10.0, 11.0]
    assert batch.records.column("published").to_pylist() == [1_796_032_800_000_000, 1_796_040_000_000_000]
