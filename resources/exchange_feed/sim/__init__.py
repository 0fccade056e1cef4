"""The simulated exchange (``tradegraph exchange-sim``, venue ``sim``): it speaks Binance's protocol, so this
venue is Binance's wire format, stream connector and REST history under its own name and endpoints."""

from resources.exchange_feed.binance import binance_protocol_adapter

ADAPTER = binance_protocol_adapter(name="sim", ws_url="ws://127.0.0.1:8765", rest_url="http://127.0.0.1:8766")
"""The simulated exchange at its default local endpoints."""

__all__ = ["ADAPTER"]
