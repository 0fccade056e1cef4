"""Real-time data sources beside the exchange feeds: REST, SOAP, FTP, SNS and the ENTSO-E API.

Interface: :mod:`.base` (a source, its typed records, batches and cursors). One package per kind under
this one (``rest/``, ``soap/``, ``ftp/``, ``sns/``, ``entsoe/``), looked up by kind in :mod:`.registry`;
instances are configured by name in a sources file (:mod:`.config`). Records travel on the bus as
:mod:`.codec` records on topic ``sources.<name>``.
"""

from resources.sources.base import (
    RecordSchema,
    Rejected,
    Source,
    SourceBatch,
    SourceError,
    SourceSpec,
    SourceUnavailableError,
    source_topic,
)

__all__ = [
    "RecordSchema",
    "Rejected",
    "Source",
    "SourceBatch",
    "SourceError",
    "SourceSpec",
    "SourceUnavailableError",
    "source_topic",
]
