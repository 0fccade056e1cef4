"""The ``websocket`` source kind: JSON messages from a websocket stream, as typed records.

The exchange venues (``resources/exchange_feed/``) are websocket sources with trade-id gap filling of
their own; this kind takes any JSON stream (a venue's trades, a price publication, a grid operator's
live feed) into a source table, configured by columns and field paths instead of code.
"""

from resources.sources.kind import SourceKind
from resources.sources.websocket.source import WebsocketConfig, WebsocketSource

KIND = SourceKind(
    name="websocket",
    config_type=WebsocketConfig,
    build=WebsocketSource,
    summary="JSON messages of a websocket stream (subscribe, unwrap, match, field paths)",
)

__all__ = ["KIND", "WebsocketConfig", "WebsocketSource"]
