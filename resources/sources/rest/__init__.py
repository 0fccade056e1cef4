"""Kind ``rest``: a generic JSON REST listing, polled with conditional GETs and followed page by page."""

from resources.sources.kind import SourceKind
from resources.sources.rest.config import RestConfig
from resources.sources.rest.source import RestCursor, RestSource

KIND = SourceKind(
    name="rest",
    config_type=RestConfig,
    build=RestSource,
    summary="JSON REST listing: conditional GET (ETag/Last-Modified), Retry-After, pagination",
)

__all__ = ["KIND", "RestConfig", "RestCursor", "RestSource"]
