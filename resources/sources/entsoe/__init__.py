"""Kind ``entsoe``: the ENTSO-E Transparency Platform REST API (day-ahead prices, load, generation forecasts)."""

from resources.sources.entsoe.config import AREAS, DEFAULT_URL, RECORDS, EntsoeConfig
from resources.sources.entsoe.documents import parse_document
from resources.sources.entsoe.source import EntsoeCursor, EntsoeSource
from resources.sources.kind import SourceKind

KIND = SourceKind(
    name="entsoe",
    config_type=EntsoeConfig,
    build=EntsoeSource,
    summary="ENTSO-E Transparency Platform API: prices, load, generation forecasts (XML), revisions as versions",
)

__all__ = [
    "AREAS",
    "DEFAULT_URL",
    "KIND",
    "RECORDS",
    "EntsoeConfig",
    "EntsoeCursor",
    "EntsoeSource",
    "parse_document",
]
