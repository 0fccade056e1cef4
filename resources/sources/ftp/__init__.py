"""The ``ftp`` source kind: CSV file drops in an FTP or FTPS directory, each loaded exactly once."""

from resources.sources.ftp.config import FtpConfig
from resources.sources.ftp.source import FtpSource
from resources.sources.kind import SourceKind

KIND = SourceKind(
    name="ftp",
    config_type=FtpConfig,
    build=FtpSource,
    summary="CSV file drops over FTP/FTPS; complete once <file>.sha256 exists and matches; each file once",
)

__all__ = ["KIND", "FtpConfig", "FtpSource"]
