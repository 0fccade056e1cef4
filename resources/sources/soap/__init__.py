"""The ``soap`` source kind: one operation of a SOAP service (zeep), polled with a cursor argument."""

from resources.sources.kind import SourceKind
from resources.sources.soap.config import SoapConfig
from resources.sources.soap.source import SoapSource

KIND = SourceKind(
    name="soap",
    config_type=SoapConfig,
    build=SoapSource,
    summary="one SOAP operation (zeep) polled with a cursor argument; items mapped to typed columns",
)

__all__ = ["KIND", "SoapConfig", "SoapSource"]
