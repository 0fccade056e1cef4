"""One typed settings object, read from the environment at run time (never at import).

Every setting has an embedded default, so ``tradegraph demo`` runs with nothing configured. A bad value
fails at start with :class:`SettingsError` naming the variable, what was wrong and an example of a good
value.

| variable | meaning | default |
|---|---|---|
| TRADEGRAPH_HOME | folder for embedded data (store, archive, MLflow, state) | ./.tradegraph |
| TRADEGRAPH_STORE | ``embedded`` or ``clickhouse`` | embedded |
| TRADEGRAPH_CLICKHOUSE_URL | clickhouse-driver URL | clickhouse://default@127.0.0.1:9000/default |
| TRADEGRAPH_CLICKHOUSE_DATABASE | database of the tick tables | tradegraph |
| TRADEGRAPH_BUS | ``embedded`` or ``kafka`` | embedded |
| TRADEGRAPH_SERVICE_STATE | where heartbeats and restart state live: ``embedded`` (SQLite under the home) or ``clickhouse`` | embedded |
| TRADEGRAPH_KAFKA_BOOTSTRAP | ``host:port[,host:port]`` | 127.0.0.1:9092 |
| TRADEGRAPH_ARCHIVE | local folder or ``s3://bucket/prefix`` | $TRADEGRAPH_HOME/archive |
| TRADEGRAPH_HOT_RETENTION_DAYS | days kept in the store after archiving | 7 |
| TRADEGRAPH_S3_ENDPOINT | S3 endpoint URL for MinIO/moto; empty for AWS | (empty) |
| TRADEGRAPH_MLFLOW_URI | MLflow tracking URI | sqlite:///$TRADEGRAPH_HOME/mlflow.db |
| TRADEGRAPH_VENUES | comma-separated venues | sim |
| TRADEGRAPH_SYMBOLS | comma-separated symbols | BTCUSDT,ETHUSDT,SOLUSDT,ADAUSDT,XRPUSDT |
| TRADEGRAPH_BINANCE_WS_URL | Binance websocket base (testnet: wss://stream.testnet.binance.vision) | wss://stream.binance.com:9443 |
| TRADEGRAPH_BINANCE_REST_URL | Binance REST base (testnet: https://testnet.binance.vision) | https://api.binance.com |
| TRADEGRAPH_FINNHUB_WS_URL | Finnhub websocket URL (token from FINNHUB_TOKEN, never logged) | wss://ws.finnhub.io |
| TRADEGRAPH_SIM_WS_URL | websocket base of the simulated exchange (venue ``sim``) | ws://127.0.0.1:8765 |
| TRADEGRAPH_SIM_REST_URL | REST base of the simulated exchange | http://127.0.0.1:8766 |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from trading_assets.core.validation import SYMBOL_PATTERN, VENUE_PATTERN

DEFAULT_SYMBOLS: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "ADAUSDT", "XRPUSDT")
KNOWN_VENUES: tuple[str, ...] = ("sim", "binance", "finnhub")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HOSTPORT = re.compile(r"^[A-Za-z0-9_.\-]+:\d{1,5}$")


class SettingsError(ValueError):
    """A setting in the environment is invalid; the message names it and shows a good value."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Where tradegraph keeps and moves its data; build with :meth:`from_env`."""

    home: Path
    """Folder for embedded data: tick segments, local archive, MLflow sqlite, service state."""
    store: str
    """Tick store backend: ``embedded`` (Parquet + DuckDB) or ``clickhouse``."""
    clickhouse_url: str
    """clickhouse-driver URL of the ClickHouse server, used when ``store`` is ``clickhouse``."""
    clickhouse_database: str
    """ClickHouse database that holds the tick tables."""
    bus: str
    """Tick bus backend: ``embedded`` (in-process) or ``kafka``."""
    kafka_bootstrap: str
    """Kafka bootstrap servers ``host:port[,host:port]``, used when ``bus`` is ``kafka``."""
    archive: str
    """Archive location: a local folder or ``s3://bucket/prefix``."""
    s3_endpoint: str | None
    """S3 endpoint URL for MinIO or moto; ``None`` for AWS itself."""
    hot_retention_days: int = 7
    """Archived days younger than this stay in the store too."""
    mlflow_uri: str
    """MLflow tracking URI."""
    venues: tuple[str, ...]
    """Venues to stream from."""
    symbols: tuple[str, ...]
    """Symbols to stream and model."""
    binance_ws_url: str = "wss://stream.binance.com:9443"
    """Binance websocket base URL."""
    binance_rest_url: str = "https://api.binance.com"
    """Binance REST base URL (trade-id gap fill)."""
    finnhub_ws_url: str = "wss://ws.finnhub.io"
    """Finnhub trades websocket URL."""
    sim_ws_url: str = "ws://127.0.0.1:8765"
    """Websocket base URL of the simulated exchange."""
    sim_rest_url: str = "http://127.0.0.1:8766"
    """REST base URL of the simulated exchange."""
    service_state: str = "embedded"
    """Where heartbeats and restart state live: ``embedded`` (SQLite under ``home``) or ``clickhouse``."""

    @property
    def embedded_store_dir(self) -> Path:
        """Folder of the embedded tick store."""
        return self.home / "ticks"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check the settings from ``environ`` (default: ``os.environ``)."""
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        home = Path(get("TRADEGRAPH_HOME", ".tradegraph")).expanduser().absolute()
        store = _choice(get("TRADEGRAPH_STORE", "embedded"), "TRADEGRAPH_STORE", ("embedded", "clickhouse"))
        bus = _choice(get("TRADEGRAPH_BUS", "embedded"), "TRADEGRAPH_BUS", ("embedded", "kafka"))
        service_state = _choice(
            get("TRADEGRAPH_SERVICE_STATE", "embedded"),
            "TRADEGRAPH_SERVICE_STATE",
            ("embedded", "clickhouse"),
        )
        clickhouse_url = get("TRADEGRAPH_CLICKHOUSE_URL", "clickhouse://default@127.0.0.1:9000/default")
        if (
            urlparse(clickhouse_url).scheme not in ("clickhouse", "clickhouses")
            or not urlparse(clickhouse_url).hostname
        ):
            raise SettingsError(
                f"TRADEGRAPH_CLICKHOUSE_URL={clickhouse_url!r} is not a ClickHouse URL; "
                "e.g. TRADEGRAPH_CLICKHOUSE_URL=clickhouse://default:secret@127.0.0.1:9000/default"
            )
        database = get("TRADEGRAPH_CLICKHOUSE_DATABASE", "tradegraph")
        if not _IDENTIFIER.match(database):
            raise SettingsError(
                f"TRADEGRAPH_CLICKHOUSE_DATABASE={database!r} must be a plain identifier; "
                "e.g. TRADEGRAPH_CLICKHOUSE_DATABASE=tradegraph"
            )
        bootstrap = get("TRADEGRAPH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
        if not all(_HOSTPORT.match(part.strip()) for part in bootstrap.split(",")):
            raise SettingsError(
                f"TRADEGRAPH_KAFKA_BOOTSTRAP={bootstrap!r} must be host:port[,host:port]; "
                "e.g. TRADEGRAPH_KAFKA_BOOTSTRAP=127.0.0.1:9092"
            )
        archive = get("TRADEGRAPH_ARCHIVE", str(home / "archive"))
        if archive.startswith("s3://") and not urlparse(archive).netloc:
            raise SettingsError(
                f"TRADEGRAPH_ARCHIVE={archive!r} names no bucket; e.g. TRADEGRAPH_ARCHIVE=s3://my-bucket/ticks"
            )
        if "://" in archive and not archive.startswith("s3://"):
            raise SettingsError(
                f"TRADEGRAPH_ARCHIVE={archive!r} must be a local folder or s3://bucket/prefix; "
                "e.g. TRADEGRAPH_ARCHIVE=s3://my-bucket/ticks"
            )
        endpoint = get("TRADEGRAPH_S3_ENDPOINT", "") or None
        if endpoint is not None and urlparse(endpoint).scheme not in ("http", "https"):
            raise SettingsError(
                f"TRADEGRAPH_S3_ENDPOINT={endpoint!r} must be an http(s) URL; "
                "e.g. TRADEGRAPH_S3_ENDPOINT=http://127.0.0.1:9000"
            )
        retention = get("TRADEGRAPH_HOT_RETENTION_DAYS", "7")
        if not retention.isdigit():
            raise SettingsError(
                f"TRADEGRAPH_HOT_RETENTION_DAYS={retention!r} must be a whole number of days; "
                "e.g. TRADEGRAPH_HOT_RETENTION_DAYS=7"
            )
        mlflow_uri = get("TRADEGRAPH_MLFLOW_URI", f"sqlite:///{home / 'mlflow.db'}")
        venues = _list(get("TRADEGRAPH_VENUES", "sim"), "TRADEGRAPH_VENUES", VENUE_PATTERN, "sim,binance")
        unknown = [v for v in venues if v not in KNOWN_VENUES]
        if unknown:
            raise SettingsError(
                f"TRADEGRAPH_VENUES names unknown venues {unknown}; known: {', '.join(KNOWN_VENUES)}; "
                "e.g. TRADEGRAPH_VENUES=binance,finnhub"
            )
        symbols = _list(
            get("TRADEGRAPH_SYMBOLS", ",".join(DEFAULT_SYMBOLS)),
            "TRADEGRAPH_SYMBOLS",
            SYMBOL_PATTERN,
            "BTCUSDT,ETHUSDT",
        )
        urls = {
            field: _url(get(name, default), name, schemes)
            for field, name, default, schemes in (
                (
                    "binance_ws_url",
                    "TRADEGRAPH_BINANCE_WS_URL",
                    "wss://stream.binance.com:9443",
                    ("ws", "wss"),
                ),
                (
                    "binance_rest_url",
                    "TRADEGRAPH_BINANCE_REST_URL",
                    "https://api.binance.com",
                    ("http", "https"),
                ),
                ("finnhub_ws_url", "TRADEGRAPH_FINNHUB_WS_URL", "wss://ws.finnhub.io", ("ws", "wss")),
                ("sim_ws_url", "TRADEGRAPH_SIM_WS_URL", "ws://127.0.0.1:8765", ("ws", "wss")),
                ("sim_rest_url", "TRADEGRAPH_SIM_REST_URL", "http://127.0.0.1:8766", ("http", "https")),
            )
        }
        return cls(
            **urls,
            home=home,
            store=store,
            clickhouse_url=clickhouse_url,
            clickhouse_database=database,
            bus=bus,
            kafka_bootstrap=bootstrap,
            archive=archive,
            s3_endpoint=endpoint,
            hot_retention_days=int(retention),
            mlflow_uri=mlflow_uri,
            venues=venues,
            symbols=symbols,
            service_state=service_state,
        )


def _choice(value: str, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(allowed)}; e.g. {name}={allowed[-1]}")
    return value


def _url(value: str, name: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise SettingsError(
            f"{name}={value!r} must be a {'/'.join(schemes)} URL; e.g. {name}={schemes[-1]}://127.0.0.1:8765"
        )
    return value.rstrip("/")


def _list(value: str, name: str, pattern: str, example: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in value.split(",") if item.strip())
    bad = [item for item in items if not re.match(pattern, item)]
    if not items or bad:
        raise SettingsError(
            f"{name}={value!r} has malformed entries {bad}; expected a comma-separated list matching "
            f"{pattern}; e.g. {name}={example}"
        )
    return items
