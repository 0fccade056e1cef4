"""Options and records of an ``entsoe`` source (one query of the ENTSO-E Transparency Platform API)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from resources.sources.base import RecordSchema, SourceSpec

DEFAULT_URL = "https://web-api.tp.entsoe.eu/api"

# Bidding zones by the names entsoe-py users know (entsoe.mappings.Area); EIC codes are accepted as is.
AREAS = {
    "AT": "10YAT-APG------L",
    "BE": "10YBE----------2",
    "CH": "10YCH-SWISSGRIDZ",
    "DE_LU": "10Y1001A1001A82H",
    "DK_1": "10YDK-1--------W",
    "DK_2": "10YDK-2--------M",
    "ES": "10YES-REE------0",
    "FR": "10YFR-RTE------C",
    "NL": "10YNL----------L",
    "PL": "10YPL-AREA-----S",
}

# The domain parameters each document type is asked with (as entsoe-py asks them).
DOMAIN_PARAMS = {
    "A44": ("in_Domain", "out_Domain"),
    "A65": ("outBiddingZone_Domain",),
    "A69": ("in_Domain",),
    "A71": ("in_Domain",),
    "A75": ("in_Domain",),
}

RECORDS = RecordSchema(
    schema=pa.schema(
        [
            pa.field("area", pa.string(), nullable=False),
            pa.field("document_type", pa.string(), nullable=False),
            pa.field("process_type", pa.string(), nullable=False),
            pa.field("business_type", pa.string(), nullable=False),
            pa.field("psr_type", pa.string(), nullable=False),
            pa.field("period_start_us", pa.int64(), nullable=False),
            pa.field("resolution_minutes", pa.int64(), nullable=False),
            pa.field("value", pa.float64(), nullable=False),
            pa.field("unit", pa.string(), nullable=False),
            pa.field("published_us", pa.int64(), nullable=False),
            pa.field("document_mrid", pa.string(), nullable=False),
            pa.field("revision", pa.int64(), nullable=False),
        ]
    ),
    time_column="period_start_us",
    key=(
        "area",
        "document_type",
        "process_type",
        "business_type",
        "psr_type",
        "resolution_minutes",
        "period_start_us",
        "published_us",
    ),
    series=("area", "document_type", "process_type", "business_type", "psr_type", "resolution_minutes"),
    version_column="published_us",
)
"""One delivery period's value as published at ``published_us`` (the document's createdDateTime): a
re-issued forecast is a new version beside the old one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EntsoeConfig:
    """One ENTSO-E query (document type, process type, area) polled day by day."""

    name: str
    """Source name: bus topic ``sources.<name>``, table ``src_<name>``."""
    security_token: str
    """The platform's API key; give it as ``env:ENTSOE_API_KEY`` in the sources file (never shown)."""
    document_type: str
    """``A44`` day-ahead prices, ``A65`` load, ``A69`` wind and solar forecast, ``A71`` generation forecast."""
    area: str
    """Bidding zone: an EIC code (``10Y1001A1001A82H``) or a name entsoe-py knows (``DE_LU``, ``FR``, ...)."""
    start: dt.date
    """First delivery day to fetch (ISO date)."""
    process_type: str | None = None
    """``A01`` day ahead, ``A16`` realised, ``A40`` intraday, ...; None for document types without one (A44)."""
    url: str = DEFAULT_URL
    """The API endpoint (the simulator's ``http://127.0.0.1:<port>/api`` offline)."""
    resolution_minutes: int = 60
    """The series' resolution: 60 (24 periods a day) or 15 (96) for the completeness check."""
    poll_interval_s: float = 300.0
    """Seconds between polls once caught up (the platform asks for no more than 400 requests a minute)."""
    timeout_s: float = 30.0
    """Connect and read timeout of each request, seconds."""
    days_per_request: int = 1
    """Delivery days asked in one request while catching up from ``start``. Keep 1: an answer has ONE
    createdDateTime (the version time of all its values), so a request over several days stamps the
    earlier days with the latest day's publication and "latest as of t" no longer sees them."""

    def __post_init__(self) -> None:
        if self.document_type not in DOMAIN_PARAMS:
            raise ValueError(
                f"entsoe source {self.name}: document_type {self.document_type!r} is not one of "
                f"{sorted(DOMAIN_PARAMS)}"
            )
        if self.resolution_minutes not in (15, 30, 60):
            raise ValueError(f"entsoe source {self.name}: resolution_minutes must be 15, 30 or 60")
        if not self.security_token:
            raise ValueError(f"entsoe source {self.name}: security_token is empty (set ENTSOE_API_KEY)")
        if self.timeout_s <= 0 or self.poll_interval_s <= 0 or self.days_per_request <= 0:
            raise ValueError(
                f"entsoe source {self.name}: timeout_s, poll_interval_s, days_per_request must be > 0"
            )

    def __repr__(self) -> str:
        # Never show the token (configs end up in logs and error messages).
        return (
            f"EntsoeConfig(name={self.name!r}, document_type={self.document_type!r}, "
            f"process_type={self.process_type!r}, area={self.area!r}, url={self.url!r}, start={self.start})"
        )

    @property
    def area_code(self) -> str:
        """The area's EIC code."""
        return AREAS.get(self.area, self.area)

    def spec(self) -> SourceSpec:
        """What this source delivers."""
        return SourceSpec(
            name=self.name, kind="entsoe", records=RECORDS, periods_per_day=1440 // self.resolution_minutes
        )
