"""The ``sns`` source kind: AWS SNS messages delivered through an SQS queue subscribed to the topic.

Each message is one record, a JSON object of the configured fields, or a batch of records, a JSON array
of such objects (checked as a whole: one bad element dead-letters the message). In a sources file::

    [[source]]
    name = "load_forecast_sns"
    kind = "sns"
    topic_arn = "arn:aws:sns:eu-central-1:123456789012:load-forecasts"
    queue_name = "tradegraph-load-forecasts"
    create_subscription = true          # queue, its policy and the subscription, created if missing
    region = "eu-central-1"
    columns = { area = "string", mw = "float64" }
    time_column = "delivery_start"      # ISO-8601 or epoch (epoch_unit), stored as int64 us
    version_column = "issued_at"        # revisions kept as versions; "published_us": SNS's publish time
    series = ["area"]
    periods_per_day = 96

Credentials come from boto3's chain (``AWS_ACCESS_KEY_ID``..., a profile, an instance role), never from
the file. Every record also carries ``message_id`` (part of its key) and ``published_us``.
"""

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
