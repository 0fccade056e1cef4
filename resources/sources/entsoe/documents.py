"""ENTSO-E Transparency Platform XML documents -> rows: prices, load and generation per delivery period.

Read with lxml, namespace-agnostic (the platform moves schema versions: ``publicationdocument:7:0``,
``7:3``, ...):

- ``Publication_MarketDocument`` (day-ahead prices, A44): ``TimeSeries/Period/Point/price.amount``;
- ``GL_MarketDocument`` (load A65, generation forecasts A69 / A71): ``.../Point/quantity``;
- ``Acknowledgement_MarketDocument``: reason 999 "No matching data found" is no rows, anything else
  (other 999 texts too: bad parameters) a
  :class:`~resources.sources.base.SourceError` with the platform's reason.

A period has ``timeInterval`` start/end and a ``resolution`` (``PT15M``, ``PT30M``, ``PT60M``); point
``position`` n is the period starting ``start + (n - 1) * resolution``. With curve type A03 ("variable
sized block") positions whose value repeats are left out: each missing position takes the previous
point's value, up to the interval's end.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from resources.sources.base import Rejected, SourceError
from trading_assets.core.time import datetime_us

NO_MATCHING_DATA = "999"
RESOLUTION_MINUTES = {"PT15M": 15, "PT30M": 30, "PT60M": 60, "PT1H": 60}
_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?$")
# No entities, no network: a document is data, never a reason to fetch anything.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True, huge_tree=False)


@dataclass(slots=True)
class Rows:
    """Column lists of parsed points (one entry per delivery period), plus what could not be read."""

    area: list[str] = field(default_factory=list)
    document_type: list[str] = field(default_factory=list)
    process_type: list[str] = field(default_factory=list)
    business_type: list[str] = field(default_factory=list)
    psr_type: list[str] = field(default_factory=list)
    period_start_us: list[int] = field(default_factory=list)
    resolution_minutes: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    unit: list[str] = field(default_factory=list)
    published_us: list[int] = field(default_factory=list)
    document_mrid: list[str] = field(default_factory=list)
    revision: list[int] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.period_start_us)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _child(element: etree._Element, name: str) -> etree._Element | None:
    for child in element:
        if isinstance(child.tag, str) and _local(child) == name:
            return child
    return None


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in element:
        if isinstance(child.tag, str) and _local(child) == name:
            yield child


def _text(element: etree._Element, *path: str) -> str | None:
    node: etree._Element | None = element
    for name in path:
        if node is None:
            return None
        node = _child(node, name)
    if node is None or node.text is None:
        return None
    return node.text.strip()


def parse_time_us(text: str) -> int:
    """Microseconds since the epoch of an ENTSO-E UTC time (``2026-11-30T23:00Z``, seconds optional)."""
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return datetime_us(moment)


def resolution_minutes(text: str) -> int:
    """Minutes of an ISO-8601 duration like ``PT15M`` or ``PT1H``; ``ValueError`` for other forms."""
    known = RESOLUTION_MINUTES.get(text)
    if known is not None:
        return known
    match = _DURATION.match(text)
    if not match or not (match.group(1) or match.group(2)):
        raise ValueError(f"resolution {text!r} is not minutes or hours (PT15M, PT60M)")
    return int(match.group(1) or 0) * 60 + int(match.group(2) or 0)


def parse_document(body: bytes, *, area: str, document_type: str, process_type: str | None) -> Rows:
    """The points of one ENTSO-E document; ``area`` / types fill in what the document leaves out.

    Raises :class:`SourceError` when the body is not XML, is an acknowledgement other than "no matching
    data", or is a document of another kind.
    """
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"ENTSO-E answer is not XML ({exc}): {body[:120]!r}") from None
    kind = _local(root)
    rows = Rows()
    if kind == "Acknowledgement_MarketDocument":
        reasons = [(_text(r, "code") or "", _text(r, "text") or "") for r in _children(root, "Reason")]
        # 999 is the platform's catch-all code: only its "No matching data found" means "no data yet".
        if any(code == NO_MATCHING_DATA and "no matching data" in text.lower() for code, text in reasons):
            return rows
        shown = "; ".join(f"{code} {text}".strip() for code, text in reasons) or "no reason given"
        raise SourceError(f"ENTSO-E refused the query: {shown}")
    if kind == "Publication_MarketDocument":
        value_field = "price.amount"
    elif kind == "GL_MarketDocument":
        value_field = "quantity"
    else:
        raise SourceError(f"ENTSO-E answer is a {kind!r}, not a market document this source reads")
    mrid = _text(root, "mRID") or ""
    revision_text = _text(root, "revisionNumber") or "1"
    created = _text(root, "createdDateTime")
    if created is None:
        raise SourceError(f"ENTSO-E document {mrid!r} has no createdDateTime")
    published_us = parse_time_us(created)
    revision = int(revision_text) if revision_text.isdigit() else 1
    doc_type = _text(root, "type") or document_type
    doc_process = _text(root, "process.processType") or process_type or ""
    for series in _children(root, "TimeSeries"):
        series_area = (
            _text(series, "outBiddingZone_Domain.mRID")
            or _text(series, "inBiddingZone_Domain.mRID")
            or _text(series, "in_Domain.mRID")
            or _text(series, "out_Domain.mRID")
            or area
        )
        business = _text(series, "businessType") or ""
        psr = _text(series, "MktPSRType", "psrType") or ""
        curve = _text(series, "curveType") or "A01"
        if value_field == "price.amount":
            currency = _text(series, "currency_Unit.name") or ""
            measure = _text(series, "price_Measure_Unit.name") or ""
            unit = f"{currency}/{measure}" if currency else measure
        else:
            unit = _text(series, "quantity_Measure_Unit.name") or ""
        for period in _children(series, "Period"):
            try:
                start_us = parse_time_us(_text(period, "timeInterval", "start") or "")
                end_us = parse_time_us(_text(period, "timeInterval", "end") or "")
                minutes = resolution_minutes(_text(period, "resolution") or "")
            except ValueError as exc:
                rows.rejected.append(
                    Rejected(payload=etree.tostring(period)[:4000], reason=f"period of {mrid}: {exc}")
                )
                continue
            step_us = minutes * 60_000_000
            count = (end_us - start_us) // step_us
            points: dict[int, float] = {}
            for point in _children(period, "Point"):
                position_text = _text(point, "position") or ""
                value_text = _text(point, value_field)
                try:
                    position = int(position_text)
                except ValueError:
                    rows.rejected.append(
                        Rejected(
                            payload=etree.tostring(point),
                            reason=f"field 'position': value {position_text!r} is not an integer",
                        )
                    )
                    continue
                if not 1 <= position <= count:
                    rows.rejected.append(
                        Rejected(
                            payload=etree.tostring(point),
                            reason=f"field 'position': value {position} is outside 1..{count} of the period",
                        )
                    )
                    continue
                try:
                    points[position] = float((value_text or "").replace(",", ""))
                except ValueError:
                    rows.rejected.append(
                        Rejected(
                            payload=etree.tostring(point),
                            reason=f"field {value_field!r}: value {value_text!r} is not a number",
                        )
                    )
            if curve == "A03" and points:
                # Variable sized blocks: a missing position repeats the previous one, up to the end.
                last: float | None = None
                for position in range(1, count + 1):
                    if position in points:
                        last = points[position]
                    elif last is not None:
                        points[position] = last
            for position in sorted(points):
                rows.area.append(series_area)
                rows.document_type.append(doc_type)
                rows.process_type.append(doc_process)
                rows.business_type.append(business)
                rows.psr_type.append(psr)
                rows.period_start_us.append(start_us + (position - 1) * step_us)
                rows.resolution_minutes.append(minutes)
                rows.value.append(points[position])
                rows.unit.append(unit)
                rows.published_us.append(published_us)
                rows.document_mrid.append(mrid)
                rows.revision.append(revision)
    return rows
