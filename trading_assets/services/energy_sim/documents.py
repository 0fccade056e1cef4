"""The simulator's ENTSO-E documents: what the platform would answer to a query at a given time.

Each (document type, process type) is one catalogue entry: which shape it serves, at which resolution,
when a delivery day's values are published and whether they are re-issued (forecasts: one version per
issue in :data:`shapes.FORECAST_ISSUES_H`). Documents are built with lxml in the platform's namespaces
and layout (``Publication_MarketDocument`` for prices, ``GL_MarketDocument`` for load and generation,
``Acknowledgement_MarketDocument`` for "No matching data found").
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import numpy as np
from lxml import etree

from trading_assets.core.time import US_PER_DAY, US_PER_MINUTE, day_start_us
from trading_assets.services.energy_sim.shapes import (
    ACTUAL_LAG_MINUTES,
    FORECAST_ISSUES_H,
    PRICES_PUBLISHED_H,
    MarketShape,
)

PUBLICATION_NS = "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"
GL_NS = "urn:iec62325.351:tc57wg16:451-6:generationloaddocument:3:0"
ACK_NS = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"
PLATFORM = "10X1001A1001A450"
US_PER_HOUR = 60 * US_PER_MINUTE


@dataclass(frozen=True, slots=True)
class Entry:
    """One servable (document type, process type)."""

    series: tuple[tuple[str, str], ...]
    """(shape series, psrType or "") pairs it serves, one TimeSeries each per day."""
    resolution_minutes: int
    """Resolution of its periods."""
    kind: str
    """``price``, ``forecast`` or ``actual``."""
    business_type: str
    """The TimeSeries' businessType."""


CATALOGUE: dict[tuple[str, str], Entry] = {
    ("A44", ""): Entry((("price", ""),), 60, "price", "A62"),
    ("A65", "A01"): Entry((("load", ""),), 15, "forecast", "A04"),
    ("A65", "A16"): Entry((("load", ""),), 15, "actual", "A04"),
    ("A69", "A01"): Entry((("solar", "B16"), ("wind", "B19")), 15, "forecast", "A94"),
    ("A71", "A01"): Entry((("generation", ""),), 60, "forecast", "A71"),
}


@dataclass(frozen=True, slots=True)
class DaySeries:
    """One series' published values for one delivery day, as of some time."""

    psr_type: str
    start_us: int
    values: np.ndarray
    created_us: int
    revision: int


def published(
    shape: MarketShape, entry: Entry, area: str, day: dt.date, now_us: int, *, price_resolution: int = 60
) -> list[DaySeries]:
    """What of ``day`` is published at ``now_us`` (the latest version of each series)."""
    start = day_start_us(day)
    resolution = price_resolution if entry.kind == "price" else entry.resolution_minutes
    found: list[DaySeries] = []
    for series, psr in entry.series:
        if entry.kind == "price":
            created = start + int(PRICES_PUBLISHED_H * US_PER_HOUR)
            if now_us < created:
                continue
            found.append(DaySeries(psr, start, shape.price(area, day, resolution), created, 1))
        elif entry.kind == "forecast":
            issues = [k for k, h in enumerate(FORECAST_ISSUES_H) if start + int(h * US_PER_HOUR) <= now_us]
            if not issues:
                continue
            k = issues[-1]
            created = start + int(FORECAST_ISSUES_H[k] * US_PER_HOUR)
            values = shape.forecast(series, area, day, resolution, k)
            found.append(DaySeries(psr, start, values, created, k + 1))
        else:
            step = resolution * US_PER_MINUTE
            lag = ACTUAL_LAG_MINUTES * US_PER_MINUTE
            ready = int(min(max((now_us - lag - start) // step, 0), US_PER_DAY // step))
            if ready == 0:
                continue
            values = shape.actual(series, area, day, resolution)[:ready]
            found.append(DaySeries(psr, start, values, start + ready * step + lag, 1))
    return found


def _iso(time_us: int, *, seconds: bool = False) -> str:
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=time_us)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ" if seconds else "%Y-%m-%dT%H:%MZ")


def _sub(
    parent: etree._Element, ns: str, name: str, text: str | None = None, **attrib: str
) -> etree._Element:
    element = etree.SubElement(parent, f"{{{ns}}}{name}", attrib)
    if text is not None:
        element.text = text
    return element


def compress_a03(values: np.ndarray) -> list[tuple[int, float]]:
    """(position, value) of a curve type A03 series: a position repeating the previous value is left out."""
    points: list[tuple[int, float]] = []
    for i, value in enumerate(values.tolist()):
        if i == 0 or value != values[i - 1]:
            points.append((i + 1, value))
    return points


def market_document(
    document_type: str,
    process_type: str,
    area: str,
    entry: Entry,
    days: list[list[DaySeries]],
    *,
    price_resolution: int = 60,
) -> tuple[bytes, int]:
    """The document serving ``days`` and its createdDateTime (the latest version's publication)."""
    is_price = entry.kind == "price"
    ns = PUBLICATION_NS if is_price else GL_NS
    created = max(s.created_us for day in days for s in day)
    resolution = price_resolution if is_price else entry.resolution_minutes
    step = resolution * US_PER_MINUTE
    first = min(s.start_us for day in days for s in day)
    last = max(s.start_us + len(s.values) * step for day in days for s in day)
    root = etree.Element(
        f"{{{ns}}}{'Publication_MarketDocument' if is_price else 'GL_MarketDocument'}", nsmap={None: ns}
    )
    mrid = hashlib.blake2b(
        f"{document_type}|{process_type}|{area}|{first}|{last}|{created}".encode(), digest_size=16
    )
    _sub(root, ns, "mRID", mrid.hexdigest())
    _sub(root, ns, "revisionNumber", str(max(s.revision for day in days for s in day)))
    _sub(root, ns, "type", document_type)
    if not is_price:
        _sub(root, ns, "process.processType", process_type)
    _sub(root, ns, "sender_MarketParticipant.mRID", PLATFORM, codingScheme="A01")
    _sub(root, ns, "sender_MarketParticipant.marketRole.type", "A32")
    _sub(root, ns, "receiver_MarketParticipant.mRID", "10X1001A1001A39I", codingScheme="A01")
    _sub(root, ns, "receiver_MarketParticipant.marketRole.type", "A33")
    _sub(root, ns, "createdDateTime", _iso(created, seconds=True))
    interval = _sub(root, ns, "period.timeInterval" if is_price else "time_Period.timeInterval")
    _sub(interval, ns, "start", _iso(first))
    _sub(interval, ns, "end", _iso(last))
    number = 0
    for day in days:
        for series in day:
            number += 1
            ts = _sub(root, ns, "TimeSeries")
            _sub(ts, ns, "mRID", str(number))
            _sub(ts, ns, "businessType", entry.business_type)
            if is_price:
                _sub(ts, ns, "in_Domain.mRID", area, codingScheme="A01")
                _sub(ts, ns, "out_Domain.mRID", area, codingScheme="A01")
                _sub(ts, ns, "contract_MarketAgreement.type", "A01")
                _sub(ts, ns, "currency_Unit.name", "EUR")
                _sub(ts, ns, "price_Measure_Unit.name", "MWH")
                _sub(ts, ns, "curveType", "A03")
            else:
                _sub(ts, ns, "objectAggregation", "A01")
                # Load is consumption (out of the zone), generation is production (into it).
                zone = "outBiddingZone_Domain.mRID" if document_type == "A65" else "inBiddingZone_Domain.mRID"
                _sub(ts, ns, zone, area, codingScheme="A01")
                _sub(ts, ns, "quantity_Measure_Unit.name", "MAW")
                _sub(ts, ns, "curveType", "A01")
                if series.psr_type:
                    _sub(_sub(ts, ns, "MktPSRType"), ns, "psrType", series.psr_type)
            period = _sub(ts, ns, "Period")
            period_interval = _sub(period, ns, "timeInterval")
            _sub(period_interval, ns, "start", _iso(series.start_us))
            _sub(period_interval, ns, "end", _iso(series.start_us + len(series.values) * step))
            _sub(period, ns, "resolution", f"PT{resolution}M")
            points = (
                compress_a03(series.values) if is_price else list(enumerate(series.values.tolist(), start=1))
            )
            label = "price.amount" if is_price else "quantity"
            for position, value in points:
                point = _sub(period, ns, "Point")
                _sub(point, ns, "position", str(position))
                _sub(point, ns, label, f"{value:.2f}" if is_price else f"{value:.0f}")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), created


def acknowledgement(now_us: int, text: str) -> bytes:
    """An Acknowledgement_MarketDocument with reason 999 and ``text``."""
    root = etree.Element(f"{{{ACK_NS}}}Acknowledgement_MarketDocument", nsmap={None: ACK_NS})
    _sub(root, ACK_NS, "mRID", hashlib.blake2b(f"{now_us}|{text}".encode(), digest_size=12).hexdigest())
    _sub(root, ACK_NS, "createdDateTime", _iso(now_us, seconds=True))
    _sub(root, ACK_NS, "sender_MarketParticipant.mRID", PLATFORM, codingScheme="A01")
    _sub(root, ACK_NS, "sender_MarketParticipant.marketRole.type", "A32")
    _sub(root, ACK_NS, "receiver_MarketParticipant.mRID", "10X1001A1001A39I", codingScheme="A01")
    _sub(root, ACK_NS, "receiver_MarketParticipant.marketRole.type", "A39")
    _sub(root, ACK_NS, "received_MarketDocument.createdDateTime", _iso(now_us, seconds=True))
    reason = _sub(root, ACK_NS, "Reason")
    _sub(reason, ACK_NS, "code", "999")
    _sub(reason, ACK_NS, "text", text)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
