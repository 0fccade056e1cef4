"""The websocket kind against the simulated exchange's real Binance-protocol websocket on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from resources.sources.base import SourceUnavailableError
from resources.sources.registry import build_source
from trading_assets.services.exchange_sim import ExchangeSim, ExchangeSimConfig, FaultConfig

TRADE_COLUMNS = {
    "symbol": "string",
    "trade_id": "int64",
    "price": "float64",
    "quantity": "float64",
    "trade_time_us": "time",
    "buyer_is_maker": "bool",
}
TRADE_FIELDS = {
    "symbol": "s",
    "trade_id": "t",
    "price": "p",
    "quantity": "q",
    "trade_time_us": "T",
    "buyer_is_maker": "m",
}


def _options(url: str) -> dict[str, object]:
    return {
        "name": "sim_trades",
        "url": url,
        "columns": TRADE_COLUMNS,
        "fields": TRADE_FIELDS,
        "time_column": "trade_time_us",
        "key": ["symbol", "trade_id"],
        "series": ["symbol"],
        "unwrap": "data",
        "match": {"e": "trade"},
    }


def test_every_trade_of_the_stream_becomes_one_typed_record_and_garbage_is_rejected() -> None:
    # Arrange: an exchange that prints 600 trades over two symbols and sends some garbage frames
    config = ExchangeSimConfig(
        symbols=("BTCUSDT", "ETHUSDT"),
        rate=2_000.0,
        max_trades=600,
        wait_for_subscribers=1,
        faults=FaultConfig(p_garbage=0.02),
    )
    with ExchangeSim(config) as sim:
        source = build_source(
            "websocket", _options(f"{sim.ws_url}/stream?streams=btcusdt@trade/ethusdt@trade")
        )

        # Act: fetch until the exchange has printed everything and the stream went quiet
        tables, rejected = [], []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            batch = source.fetch(None, timeout_s=0.5)
            tables.append(batch.records)
            rejected.extend(batch.rejected)
            if sum(t.num_rows for t in tables) >= 600 and not batch.records.num_rows:
                break
        garbage = sim.stats()["faults"]["garbage_total"]
        source.close()

    # Assert
    rows = [row for table in tables for row in table.to_pylist()]
    assert len(rows) == 600
    assert len({(row["symbol"], row["trade_id"]) for row in rows}) == 600
    assert {row["symbol"] for row in rows} == {"BTCUSDT", "ETHUSDT"}
    assert all(row["price"] > 0 and row["trade_time_us"] > 1_500_000_000_000_000 for row in rows)
    assert len(rejected) == garbage
    assert all(reason.reason for reason in rejected)


def test_an_unreachable_stream_is_unavailable_and_a_missing_field_is_named() -> None:
    source = build_source("websocket", {**_options("ws://127.0.0.1:9/stream"), "connect_timeout_s": 1.0})

    with pytest.raises(SourceUnavailableError, match="cannot connect"):
        source.fetch(None, timeout_s=0.5)

    from resources.sources.columns import RowBuilder

    builder = RowBuilder({"price": "float64", "when": "time"})
    assert builder.add({"price": "1.5"}) == "field 'when' is missing"
    assert "field 'price': 'abc' is not a float64" in (builder.add({"price": "abc", "when": 1}) or "")
    assert builder.add({"price": 2, "when": "2024-03-01T00:00:00Z"}) is None
    assert builder.table().to_pylist() == [{"price": 2.0, "when": 1_709_251_200_000_000}]
