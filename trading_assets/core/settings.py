"""One typed settings object, read from the environment at run time (never at import).

Every setting has an embedded default, so ``tradegraph demo`` runs with nothing configured. A bad value
fails at start with :class:`SettingsError` naming the variable, what was wrong and an example of a good
value. The variables, their meaning and defaults are listed in ``docs/CONFIGURATION.md``, which
:mod:`trading_assets.core.settings_doc` generates from this model.

Secrets (``FINNHUB_TOKEN``, the S3 keys, the ClickHouse password) are :class:`pydantic.SecretStr`: they
print as ``**********`` and reach a client only through ``get_secret_value()``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.sources import PydanticBaseSettingsSource

from trading_assets.core.settings_source import Environment, explain, reading
from trading_assets.core.validation import SYMBOL_PATTERN, VENUE_PATTERN

ENV_PREFIX = "TRADEGRAPH_"
DEFAULT_HOME = ".tradegraph"
DEFAULT_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOSTPORT = re.compile(r"^[A-Za-z0-9_.\-]+:\d{1,5}$")


class SettingsError(ValueError):
    """A setting in the environment is invalid; the message names it and shows a good value."""


def _secret(name: str, description_default: str = "(unset)") -> Any:
    """A secret read from ``name`` exactly (no TRADEGRAPH_ prefix: these are the names tools share)."""
    return Field(
        default=None,
        validation_alias=AliasChoices(name),
        json_schema_extra={"env": name, "doc_default": description_default, "secret": True},
    )


class Settings(BaseSettings):
    """Where tradegraph keeps and moves its data; build with :meth:`from_env`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        extra="ignore",
        populate_by_name=True,
        use_attribute_docstrings=True,
        validate_default=True,
    )

    home: Path = Path(DEFAULT_HOME)
    """Folder for embedded data: tick segments, local archive, MLflow sqlite, service state."""
    store: Literal["embedded", "clickhouse"] = "embedded"
    """Tick store backend: ``embedded`` (Parquet + DuckDB) or ``clickhouse``."""
    clickhouse_url: str = "clickhouse://default@127.0.0.1:9000/default"
    """clickhouse-driver URL of the ClickHouse server, used when the store is ``clickhouse``."""
    clickhouse_password: SecretStr | None = Field(
        default=None, json_schema_extra={"doc_default": "(unset: the URL's, if any)", "secret": True}
    )
    """ClickHouse password; replaces one in the URL, and keeps it out of the URL the Dagster UI shows."""
    clickhouse_database: str = "tradegraph"
    """ClickHouse database that holds the tick tables."""
    clickhouse_insert_priority: int = Field(default=1, ge=0)
    """ClickHouse ``priority`` of the stores' inserts (the loader's): 1 is the highest, higher numbers
    lower; a query pauses while one of a lower number runs; 0 takes no part in priorities."""
    clickhouse_read_priority: int = Field(default=2, ge=0)
    """ClickHouse ``priority`` of the stores' reads, exports, seals and other statements: above the
    insert priority they pause while an insert runs, so analytic queries slow the ingest less."""
    clickhouse_read_max_threads: int = Field(default=1, ge=0)
    """ClickHouse ``max_threads`` of the stores' reads: below the core count a read leaves cores to the
    ingest; 0 is the server's default (one thread per core)."""
    clickhouse_read_os_thread_priority: int = Field(default=0, ge=0, le=19)
    """ClickHouse ``os_thread_priority`` (Linux nice, 1-19) of the threads that run the stores' reads; 0
    does not send it. Sent only to a server that knows it (a current ClickHouse, not 18.16: the store
    logs a warning once and reads without it); the server process needs the ``CAP_SYS_NICE`` capability
    (docker/: ``cap_add: [SYS_NICE]`` on ``clickhouse`` and the capability on its binary,
    docker/clickhouse/Dockerfile), without which it does nothing. Off by default: measured on this
    project's machine, reads at nice 19 were 40-50 % slower and the ingest's p99 beside them no better
    (docs/BENCHMARKS.md, "The query side at the lowest CPU priority"); docker/compose.yaml sets 19."""
    bus: Literal["embedded", "kafka"] = "embedded"
    """Tick bus backend: ``embedded`` (in-process) or ``kafka``."""
    service_state: Literal["embedded", "clickhouse"] = "embedded"
    """Where heartbeats and restart state live: ``embedded`` (SQLite under the home) or ``clickhouse``."""
    kafka_bootstrap: str = "127.0.0.1:9092"
    """Kafka bootstrap servers ``host:port[,host:port]``, used when the bus is ``kafka``."""
    kafka_client: Literal["kafka-python", "confluent"] = "kafka-python"
    """The Kafka client library of the ``kafka`` bus: ``kafka-python`` (pure Python) or ``confluent``
    (confluent-kafka, librdkafka in C: a fifth to an eighth of the CPU at the streamer's rate). Both put
    a symbol in the same partition, so they can share topics. confluent's consumers keep a fixed fetch
    wait, ``TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS`` (they cannot adapt it while open)."""
    kafka_fetch_max_wait_ms: int = Field(default=500, ge=1, le=60_000)
    """Longest time the broker may hold a consumer's fetch (Kafka's ``fetch.max.wait.ms``): the most a
    consumer's adapted wait grows to when the broker needs longer to find waiting records (Tansu, on a
    partition holding tens of thousands of batches); with the ``confluent`` client, every consumer's
    fixed wait."""
    kafka_fetch_min_wait_ms: int = Field(default=10, ge=1, le=60_000)
    """A consumer's fetch wait while the broker finds records at once (on Tansu a fetch that found
    nothing looks again only after half its wait, so a short wait is lower latency); at most
    ``TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS``, equal to it for a fixed wait."""
    kafka_fetch_min_bytes: int = Field(default=1, ge=1)
    """Bytes a consumer's fetch waits for (``fetch.min.bytes``); above 1, up to the wait of latency on a
    quiet topic."""
    kafka_fetch_max_partition_bytes: int = Field(default=1_048_576, ge=1024)
    """Most bytes one fetch returns per partition (``max.partition.fetch.bytes``)."""
    archive: str = Field(default="", json_schema_extra={"doc_default": "`$TRADEGRAPH_HOME/archive`"})
    """Archive location: a local folder or ``s3://bucket/prefix``."""
    s3_endpoint: str | None = Field(default=None, json_schema_extra={"doc_default": "(unset: AWS)"})
    """S3 endpoint URL for MinIO or moto; unset for AWS itself."""
    s3_region: str | None = Field(
        default=None, json_schema_extra={"doc_default": "(unset: AWS_DEFAULT_REGION or us-east-1)"}
    )
    """S3 region of the archive bucket."""
    s3_access_key_id: SecretStr | None = _secret("AWS_ACCESS_KEY_ID", "(unset: the AWS profile or role)")
    """S3 access key id; unset: boto3's chain (profile, instance role)."""
    s3_secret_access_key: SecretStr | None = _secret(
        "AWS_SECRET_ACCESS_KEY", "(unset: the AWS profile or role)"
    )
    """S3 secret access key; unset: boto3's chain (profile, instance role)."""
    s3_session_token: SecretStr | None = _secret("AWS_SESSION_TOKEN")
    """S3 session token of temporary credentials."""
    malloc_trim_s: float = Field(default=10.0, ge=0, allow_inf_nan=False)
    """Seconds between the long-running commands' hand-backs of freed memory to the system (glibc's
    ``malloc_trim``; it keeps 150-390 MB otherwise at 20,000 ticks/s); 0 turns it off."""
    service_nice: int | None = Field(
        default=None, ge=-20, le=19, json_schema_extra={"doc_default": "(unset: as started)"}
    )
    """Linux nice value the long-running services (stream, load, execute, sources run, run) give every
    thread of theirs, and their session's autogroup where the kernel has them, at start: below 0 they get
    the CPU ahead of analytic queries on a shared host (needs root or ``CAP_SYS_NICE``), 1-19 behind
    everything. In a container the CPU weight decides between containers (docs/SCALING.md)."""
    hot_retention_days: int = 7
    """Archived days younger than this stay in the store too."""
    mlflow_uri: str = Field(
        default="", json_schema_extra={"doc_default": "`sqlite:///$TRADEGRAPH_HOME/mlflow.db`"}
    )
    """MLflow tracking URI of the model registry: ``http://host:port`` of an MLflow server, or a
    ``sqlite:///`` file (the embedded default)."""
    retrain_cron: str = "0 */6 * * *"
    """Cron schedule (UTC) of the model retraining of every symbol."""
    drift_psi_threshold: float = 0.25
    """Population stability index above which a symbol's features or predictions count as drifted
    and its model is retrained."""
    sources_file: Path | None = None
    """TOML file of the other real-time sources to run (REST, SOAP, FTP, SNS, ENTSO-E; see docs/SOURCES.md);
    unset: no sources."""
    venues: Annotated[tuple[str, ...], NoDecode] = ("sim",)
    """Comma-separated venues to stream from (known: sim, binance, finnhub)."""
    symbols: Annotated[tuple[str, ...], NoDecode] = DEFAULT_SYMBOLS
    """Comma-separated symbols to stream and model."""
    binance_ws_url: str = "wss://stream.binance.com:9443"
    """Binance websocket base URL (testnet: wss://stream.testnet.binance.vision)."""
    binance_rest_url: str = "https://api.binance.com"
    """Binance REST base URL for the trade-id gap fill (testnet: https://testnet.binance.vision)."""
    finnhub_ws_url: str = "wss://ws.finnhub.io"
    """Finnhub trades websocket URL."""
    finnhub_token: SecretStr | None = _secret("FINNHUB_TOKEN")
    """Finnhub API token (venue ``finnhub``), sent only to Finnhub."""
    sim_ws_url: str = "ws://127.0.0.1:8765"
    """Websocket base URL of the simulated exchange (venue ``sim``)."""
    sim_rest_url: str = "http://127.0.0.1:8766"
    """REST base URL of the simulated exchange."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(explain(exc, type(self).model_fields, type(self).env_name)) from None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check the settings from ``environ`` (default: ``os.environ``)."""
        with reading(environ):
            return cls()

    @property
    def embedded_store_dir(self) -> Path:
        """Folder of the embedded tick store."""
        return self.home / "ticks"

    @classmethod
    def env_name(cls, field: str) -> str:
        """The environment variable of ``field``."""
        extra = cls.model_fields[field].json_schema_extra
        if isinstance(extra, dict) and isinstance(extra.get("env"), str):
            return str(extra["env"])
        return f"{ENV_PREFIX}{field.upper()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment; no dotenv or secret files (one place to look)."""
        return (init_settings, Environment(settings_cls))

    # -- checks: each raises with the variable's name and a good value ------------------------------

    @model_validator(mode="before")
    @classmethod
    def _derived_defaults(cls, data: Any) -> Any:
        # The archive and MLflow default to places under the home folder.
        if not isinstance(data, dict):
            return data
        home = _home(data.get("home", DEFAULT_HOME))
        data = dict(data)
        if not data.get("archive"):
            data["archive"] = str(home / "archive")
        if not data.get("mlflow_uri"):
            data["mlflow_uri"] = f"sqlite:///{home / 'mlflow.db'}"
        return data

    @field_validator("home", mode="before")
    @classmethod
    def _check_home(cls, value: Any) -> Path:
        return _home(value)

    @field_validator("store", "bus", "service_state", "kafka_client", mode="before")
    @classmethod
    def _check_choice(cls, value: Any, info: ValidationInfo) -> Any:
        allowed = {
            "store": ("embedded", "clickhouse"),
            "bus": ("embedded", "kafka"),
            "service_state": ("embedded", "clickhouse"),
            "kafka_client": ("kafka-python", "confluent"),
        }[str(info.field_name)]
        name = cls.env_name(str(info.field_name))
        if value not in allowed:
            raise ValueError(
                f"{name}={value!r} is not one of {', '.join(allowed)}; e.g. {name}={allowed[-1]}"
            )
        return value

    @field_validator("clickhouse_url")
    @classmethod
    def _check_clickhouse_url(cls, value: str) -> str:
        parsed = urlparse(value)
        if parsed.scheme not in ("clickhouse", "clickhouses") or not parsed.hostname:
            raise ValueError(
                f"TRADEGRAPH_CLICKHOUSE_URL={value!r} is not a ClickHouse URL; "
                "e.g. TRADEGRAPH_CLICKHOUSE_URL=clickhouse://default:secret@127.0.0.1:9000/default"
            )
        return value

    @field_validator("clickhouse_database")
    @classmethod
    def _check_database(cls, value: str) -> str:
        if not _IDENTIFIER.match(value):
            raise ValueError(
                f"TRADEGRAPH_CLICKHOUSE_DATABASE={value!r} must be a plain identifier; "
                "e.g. TRADEGRAPH_CLICKHOUSE_DATABASE=tradegraph"
            )
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        if not all(_HOSTPORT.match(part.strip()) for part in value.split(",")):
            raise ValueError(
                f"TRADEGRAPH_KAFKA_BOOTSTRAP={value!r} must be host:port[,host:port]; "
                "e.g. TRADEGRAPH_KAFKA_BOOTSTRAP=127.0.0.1:9092"
            )
        return value

    @field_validator("archive")
    @classmethod
    def _check_archive(cls, value: str) -> str:
        if value.startswith("s3://") and not urlparse(value).netloc:
            raise ValueError(
                f"TRADEGRAPH_ARCHIVE={value!r} names no bucket; e.g. TRADEGRAPH_ARCHIVE=s3://my-bucket/ticks"
            )
        if "://" in value and not value.startswith("s3://"):
            raise ValueError(
                f"TRADEGRAPH_ARCHIVE={value!r} must be a local folder or s3://bucket/prefix; "
                "e.g. TRADEGRAPH_ARCHIVE=s3://my-bucket/ticks"
            )
        return value

    @field_validator("s3_endpoint")
    @classmethod
    def _check_s3_endpoint(cls, value: str | None) -> str | None:
        if value is not None and urlparse(value).scheme not in ("http", "https"):
            raise ValueError(
                f"TRADEGRAPH_S3_ENDPOINT={value!r} must be an http(s) URL; "
                "e.g. TRADEGRAPH_S3_ENDPOINT=http://127.0.0.1:9000"
            )
        return value

    @model_validator(mode="after")
    def _check_fetch_waits(self) -> Settings:
        if self.kafka_fetch_min_wait_ms > self.kafka_fetch_max_wait_ms:
            raise ValueError(
                f"TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS={self.kafka_fetch_min_wait_ms} is above "
                f"TRADEGRAPH_KAFKA_FETCH_MAX_WAIT_MS={self.kafka_fetch_max_wait_ms}; e.g. "
                "TRADEGRAPH_KAFKA_FETCH_MIN_WAIT_MS=10 (equal to the max for a fixed wait)"
            )
        return self

    @field_validator("hot_retention_days", mode="before")
    @classmethod
    def _check_retention(cls, value: Any) -> Any:
        if (isinstance(value, str) and not value.isdigit()) or (isinstance(value, int) and value < 0):
            raise ValueError(
                f"TRADEGRAPH_HOT_RETENTION_DAYS={value!r} must be a whole number of days; "
                "e.g. TRADEGRAPH_HOT_RETENTION_DAYS=7"
            )
        return value

    @field_validator("retrain_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        # Five fields is what a cron string needs here; Dagster checks each field when it builds the schedule.
        if len(value.split()) != 5:
            raise ValueError(
                f"TRADEGRAPH_RETRAIN_CRON={value!r} must be a cron string of 5 fields (minute hour day month "
                "weekday); e.g. TRADEGRAPH_RETRAIN_CRON='0 */6 * * *'"
            )
        return value

    @field_validator("drift_psi_threshold")
    @classmethod
    def _check_psi(cls, value: float) -> float:
        if not value > 0:
            raise ValueError(f"TRADEGRAPH_DRIFT_PSI_THRESHOLD={value!r} must be > 0; e.g. 0.25")
        return value

    @field_validator("venues", mode="before")
    @classmethod
    def _check_venues(cls, value: Any) -> tuple[str, ...]:
        # Which venues exist is the venue registry's to say (resources/exchange_feed): the command line
        # checks the names against it at start, so a new venue is one package and one registry line.
        return _list(value, "TRADEGRAPH_VENUES", VENUE_PATTERN, "sim,binance")

    @field_validator("symbols", mode="before")
    @classmethod
    def _check_symbols(cls, value: Any) -> tuple[str, ...]:
        return _list(value, "TRADEGRAPH_SYMBOLS", SYMBOL_PATTERN, "BTCUSDT,ETHUSDT")

    @field_validator("binance_ws_url", "finnhub_ws_url", "sim_ws_url")
    @classmethod
    def _check_ws_url(cls, value: str, info: ValidationInfo) -> str:
        return _url(value, cls.env_name(str(info.field_name)), ("ws", "wss"))

    @field_validator("binance_rest_url", "sim_rest_url")
    @classmethod
    def _check_rest_url(cls, value: str, info: ValidationInfo) -> str:
        return _url(value, cls.env_name(str(info.field_name)), ("http", "https"))


def _home(value: Any) -> Path:
    return Path(str(value) or DEFAULT_HOME).expanduser().absolute()


def _url(value: str, name: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise ValueError(
            f"{name}={value!r} must be a {'/'.join(schemes)} URL; e.g. {name}={schemes[-1]}://127.0.0.1:8765"
        )
    return value.rstrip("/")


def _list(value: Any, name: str, pattern: str, example: str) -> tuple[str, ...]:
    if isinstance(value, str):
        items = tuple(item.strip() for item in value.split(",") if item.strip())
    else:
        items = tuple(str(item) for item in value)
    bad = [item for item in items if not re.match(pattern, item)]
    if not items or bad:
        raise ValueError(
            f"{name}={value!r} has malformed entries {bad}; expected a comma-separated list matching "
            f"{pattern}; e.g. {name}={example}"
        )
    return items
