"""Pure parts of the simulated exchange: wire formats, websocket framing, history, faults, configuration."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trading_assets.services.exchange_sim import wire
from trading_assets.services.exchange_sim.config import ExchangeSimConfig, FaultConfig
from trading_assets.services.exchange_sim.faults import FaultInjector
from trading_assets.services.exchange_sim.history import BLOCK_ROWS, SymbolHistory, TradeRows
from trading_assets.services.exchange_sim.sources import TradeBatch
from trading_assets.services.exchange_sim.websocket import accept_key, unmask

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def make_batch(count: int, symbols: int = 2) -> TradeBatch:
    rng = np.random.default_rng(1)
    symbol = rng.integers(0, symbols, count).astype(np.int32)
    trade_id = np.empty(count, np.int64)
    for s in range(symbols):
        rows = np.flatnonzero(symbol == s)
        trade_id[rows] = 1 + np.arange(len(rows))
    return TradeBatch(
        symbol,
        trade_id,
        np.round(65_000 + rng.normal(size=count), 2),
        np.round(rng.uniform(0.001, 1, count), 8),
        1_735_689_600_000_000 + np.arange(count) * 1000,
        rng.random(count) < 0.5,
    )


def parse_frames(blob: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of unmasked server frames."""
    frames, at = [], 0
    while at < len(blob):
        opcode, length, at = blob[at] & 0x0F, blob[at + 1] & 0x7F, at + 2
        if length == 126:
            length, at = int.from_bytes(blob[at : at + 2], "big"), at + 2
        elif length == 127:
            length, at = int.from_bytes(blob[at : at + 8], "big"), at + 8
        frames.append((opcode, blob[at : at + length]))
        at += length
    return frames


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 70_000])
def test_frames_of_every_length_class_parse_back(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(size % 256)

    assert parse_frames(wire.frame(payload)) == [(wire.OP_TEXT, payload)]
    assert parse_frames(wire.frame(payload, wire.OP_PING)) == [(wire.OP_PING, payload)]


def test_rfc6455_accept_key_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_unmask_is_its_own_inverse() -> None:
    payload, mask = b'{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1}', b"\x01\xfe\x33\x80"

    assert unmask(unmask(payload, mask), mask) == payload
    assert unmask(payload, mask)[:4] == bytes(a ^ b for a, b in zip(payload[:4], mask, strict=True))


def test_binance_payloads_are_the_documented_event_raw_and_combined() -> None:
    batch = make_batch(50)

    raw = [
        json.loads(p) for p in wire.binance_trade_payloads(batch, SYMBOLS, 1_735_689_601_234, combined=False)
    ]
    combined = [
        json.loads(p) for p in wire.binance_trade_payloads(batch, SYMBOLS, 1_735_689_601_234, combined=True)
    ]

    assert [c["data"] for c in combined] == raw
    assert [c["stream"] for c in combined] == [f"{SYMBOLS[s].lower()}@trade" for s in batch.symbol.tolist()]
    first = raw[0]
    assert list(first) == ["e", "E", "s", "t", "p", "q", "T", "m", "M"]
    assert first["E"] == 1_735_689_601_234 and first["T"] == int(batch.time_us[0] // 1000)
    assert first["p"] == f"{batch.price[0]:.8f}" and first["m"] is bool(batch.buyer_maker[0])


def test_finnhub_message_and_rest_body_match_the_trades() -> None:
    batch = make_batch(5)

    message = json.loads(wire.finnhub_trade_message(wire.finnhub_trade_items(batch, SYMBOLS)))
    rest = json.loads(
        wire.rest_trades(batch.trade_id, batch.price, batch.qty, batch.time_us, batch.buyer_maker)
    )

    assert message["type"] == "trade"
    assert [t["p"] for t in message["data"]] == batch.price.tolist()
    assert [t["s"] for t in message["data"]] == [f"BINANCE:{SYMBOLS[s]}" for s in batch.symbol.tolist()]
    assert [r["id"] for r in rest] == batch.trade_id.tolist()
    assert [r["isBuyerMaker"] for r in rest] == batch.buyer_maker.tolist()


@pytest.mark.parametrize("protocol", ["binance_raw", "binance_combined", "finnhub"])
def test_garbage_payloads_are_utf8_and_are_garbage(protocol: str) -> None:
    non_json, truncated, wrong = (wire.garbage_payload(k, protocol, "BTCUSDT") for k in range(3))

    for payload in (non_json, truncated, wrong):
        payload.decode("utf-8")
    for payload in (non_json, truncated):
        with pytest.raises(json.JSONDecodeError):
            json.loads(payload)
    parsed = json.loads(wrong)
    event = parsed.get("data", parsed)
    event = event[0] if isinstance(event, list) else event
    assert "t" not in event or "p" not in event


def test_history_pages_across_blocks_and_forgets_whole_old_blocks() -> None:
    # Arrange
    history = SymbolHistory(max_trades=BLOCK_ROWS + 10)
    total = 3 * BLOCK_ROWS + 5
    ids = np.arange(1, total + 1, dtype=np.int64)

    # Act: appended in uneven pieces.
    for start in range(0, total, 10_007):
        part = slice(start, min(start + 10_007, total))
        history.append(
            TradeRows(ids[part], ids[part] * 1.0, ids[part] * 0.5, ids[part] * 1000, ids[part] % 2 == 0)
        )

    # Assert
    assert history.last_id == total and len(history) >= BLOCK_ROWS + 10
    assert history.first_id == total - len(history) + 1
    assert history.from_id(2 * BLOCK_ROWS - 2, 5).trade_id.tolist() == list(
        range(2 * BLOCK_ROWS - 2, 2 * BLOCK_ROWS + 3)
    )
    assert history.from_id(1, 3).trade_id.tolist() == [
        history.first_id,
        history.first_id + 1,
        history.first_id + 2,
    ]
    assert history.recent(4).trade_id.tolist() == list(range(total - 3, total + 1))
    assert len(history.from_id(total + 1, 10)) == 0


def test_same_seed_gives_the_same_faults_and_counts_add_up() -> None:
    faults = FaultConfig(p_skip=0.1, p_duplicate=0.1, p_reorder=0.1, p_garbage=0.05)
    batch = make_batch(2_000)

    first, second = FaultInjector(faults, 2, seed=3), FaultInjector(faults, 2, seed=3)
    a, b = first.apply(batch), second.apply(batch)

    assert np.array_equal(a.order, b.order)
    counters = first.counters
    trades = a.order[a.order >= 0]
    assert len(np.unique(trades)) == 2_000 - counters.skipped.sum()
    assert len(trades) - len(np.unique(trades)) == counters.duplicated.sum()
    assert np.count_nonzero(a.order < 0) == sum(counters.garbage.values())
    assert counters.reordered.sum() > 0


def test_drop_timer_fires_every_period() -> None:
    injector = FaultInjector(FaultConfig(drop_every_s=1.0), 1, seed=1)

    fired = [t for t in np.arange(0, 5.01, 0.05).tolist() if injector.drop_due(t)]

    assert fired == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"rate": 0}, "rate"),
        ({"speed": -1}, "speed"),
        ({"symbols": ("btcusdt",)}, "symbols"),
        ({"max_trades": -1}, "max_trades"),
        ({"ws_port": 70_000}, "ws_port"),
        ({"finnhub_token": ""}, "finnhub_token"),
    ],
)
def test_bad_configuration_fails_naming_the_setting(settings: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        ExchangeSimConfig(**settings)  # type: ignore[arg-type]


def test_fault_updates_are_validated() -> None:
    faults = FaultConfig()

    assert faults.updated({"p_skip": 0.5, "drop_every_s": None}).p_skip == 0.5
    with pytest.raises(ValueError, match="p_skip"):
        faults.updated({"p_skip": 1.5})
    with pytest.raises(ValueError, match="unknown"):
        faults.updated({"p_fire": 0.1})
    with pytest.raises(ValueError, match="number"):
        faults.updated({"p_skip": "high"})
