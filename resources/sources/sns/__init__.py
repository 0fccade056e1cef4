"""The ``sns`` source kind: AWS SNS messages delivered through an SQS queue subscribed to the topic."""

from resources.sources.kind import SourceKind
from resources.sources.sns.config import SnsConfig
from resources.sources.sns.source import SnsSource

KIND = SourceKind(
    name="sns",
    config_type=SnsConfig,
    build=SnsSource,
    summary="AWS SNS topic through an SQS subscription (boto3); at-least-once, deduplicated by message id",
)

__all__ = ["KIND", "SnsConfig", "SnsSource"]
