"""Quality checks: each passes on a clean simulated day and fails with exact counts and examples on data
with injected gaps, duplicates, out-of-order times, price jumps and tampered bars."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from trading_assets.core.ticks import Side, Tick, ticks_to_table
from trading_assets.core.time import US_PER_DAY
from trading_assets.market.bars import compute_bars_1m
from trading_assets.market.quality import (
    CheckResult,
    check_bars_reconcile,
    check_no_duplicates,
    check_no_trade_id_gaps,
    check_price_jumps,
    check_time_monotonic,
    trade_id_gap_runs,
)
from trading_assets.market.simulation import simulate_day

DAY_US = 19_783 * US_PER_DAY  # 2024-03-01 00:00 UTC
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")


def clean_day(ticks: int = 6_000) -> pa.Table:
    """A simulated day as the store exports it: ordered by (venue, symbol, trade_time_us, trade_id)."""
    table = simulate_day(day_start_us=DAY_US, ticks=ticks, symbols=SYMBOLS)
    return table.sort_by([(name, "ascending") for name in ("venue", "symbol", "trade_time_us", "trade_id")])


def scrambled(table: pa.Table) -> pa.Table:
    """The same rows in a random order (so the checks must sort them)."""
    return table.take(pa.array(np.random.default_rng(11).permutation(table.num_rows)))


ORDERINGS: dict[str, Callable[[pa.Table], pa.Table]] = {"as_exported": lambda t: t, "scrambled": scrambled}


def symbol_rows(table: pa.Table, symbol: str) -> np.ndarray:
    return np.flatnonzero(pc.equal(table.column("symbol"), symbol).to_numpy(zero_copy_only=False))


def without_ids(table: pa.Table, symbol: str, ids: set[int]) -> pa.Table:
    mask = pc.invert(
        pc.and_(pc.equal(table.column("symbol"), symbol), pc.is_in(table.column("trade_id"), pa.array(ids)))
    )
    return table.filter(mask)


def with_column(table: pa.Table, name: str, values: np.ndarray) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(name), pa.array(values, table.schema.field(name).type))


def finnhub_ticks(count: int) -> pa.Table:
    """Ticks of a venue without trade ids: negative content keys, in no id order."""
    return ticks_to_table(
        Tick(
            venue="finnhub",
            symbol="BINANCE:BTCUSDT",
            trade_id=None,
            price=100.0 + n % 3,
            quantity=1.0,
            side=Side.UNKNOWN,
            trade_time_us=DAY_US + n * 1_000_000,
            event_time_us=DAY_US + n * 1_000_000,
            receive_time_us=DAY_US + n * 1_000_000,
        )
        for n in range(count)
    )


def hand_prices(prices: list[float]) -> pa.Table:
    """One BTCUSDT trade per second with consecutive ids and the given prices."""
    return ticks_to_table(
        Tick(
            venue="binance",
            symbol="BTCUSDT",
            trade_id=n + 1,
            price=price,
            quantity=1.0,
            side=Side.BUY,
            trade_time_us=DAY_US + n * 1_000_000,
            event_time_us=DAY_US + n * 1_000_000,
            receive_time_us=DAY_US + n * 1_000_000,
        )
        for n, price in enumerate(prices)
    )


def assert_clean(result: CheckResult, checked: int) -> None:
    assert result.passed
    assert result.count == 0
    assert result.checked == checked
    assert result.examples == ()


# -- clean data ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_every_check_passes_on_a_clean_day(ordering: str) -> None:
    ticks = ORDERINGS[ordering](pa.concat_tables([clean_day(), finnhub_ticks(20)]))
    bars = compute_bars_1m(ticks)

    results = [
        check_no_trade_id_gaps(ticks),
        check_no_duplicates(ticks),
        check_time_monotonic(ticks),
        check_price_jumps(ticks),
        check_bars_reconcile(ticks, bars),
    ]

    assert [result.name for result in results] == [
        "no_trade_id_gaps",
        "no_duplicates",
        "time_monotonic",
        "price_jumps",
        "bars_reconcile",
    ]
    for result, checked in zip(results, [6_000, 6_020, 6_000, 6_020, 4], strict=True):
        assert_clean(result, checked)


def test_every_check_passes_on_no_ticks() -> None:
    ticks = ticks_to_table([])

    results = [
        check_no_trade_id_gaps(ticks),
        check_no_duplicates(ticks),
        check_time_monotonic(ticks),
        check_price_jumps(ticks),
        check_bars_reconcile(ticks, compute_bars_1m(ticks)),
    ]

    for result in results:
        assert_clean(result, 0)


# -- injected problems --------------------------------------------------------------------------------


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_gaps_count_every_missing_id_and_name_each_run(ordering: str) -> None:
    holed = without_ids(without_ids(clean_day(), "BTCUSDT", {10, 11, 12}), "ETHUSDT", {50})
    duplicated = pa.concat_tables([holed, holed.slice(0, 5)])  # copies are no gaps
    ticks = ORDERINGS[ordering](pa.concat_tables([duplicated, finnhub_ticks(5)]))

    result = check_no_trade_id_gaps(ticks)

    assert not result.passed
    assert result.count == 4
    assert result.examples == (
        "sim BTCUSDT: ids 10..12 missing (3)",
        "sim ETHUSDT: ids 50..50 missing (1)",
    )
    assert result.description.startswith("4 trade ids missing in 2 runs")


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_gap_runs_name_venue_symbol_and_the_missing_ids_ignoring_copies_and_content_keys(
    ordering: str,
) -> None:
    holed = without_ids(without_ids(clean_day(), "BTCUSDT", {10, 11, 12, 40}), "ETHUSDT", {50})
    duplicated = pa.concat_tables([holed, holed.slice(0, 5)])
    ticks = ORDERINGS[ordering](pa.concat_tables([duplicated, finnhub_ticks(5)]))

    runs = trade_id_gap_runs(ticks)

    assert runs == [("sim", "BTCUSDT", 10, 12), ("sim", "BTCUSDT", 40, 40), ("sim", "ETHUSDT", 50, 50)]
    assert trade_id_gap_runs(clean_day()) == []
    assert trade_id_gap_runs(clean_day().slice(0, 0)) == []


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_duplicates_count_surplus_copies_including_content_keys(ordering: str) -> None:
    day = clean_day()
    btc, eth = symbol_rows(day, "BTCUSDT"), symbol_rows(day, "ETHUSDT")
    finnhub = finnhub_ticks(4)
    copies = pa.concat_tables(
        [day.take([btc[4], btc[4]]), day.take([eth[0]]), finnhub.slice(2, 1)]  # trade 5 thrice in all
    )
    ticks = ORDERINGS[ordering](pa.concat_tables([day, finnhub, copies]))

    result = check_no_duplicates(ticks)

    assert not result.passed
    assert result.count == 4
    finnhub_key = finnhub.column("trade_id")[2].as_py()
    assert result.examples == (
        f"finnhub BINANCE:BTCUSDT trade {finnhub_key}: 2 copies",
        "sim BTCUSDT trade 5: 3 copies",
        "sim ETHUSDT trade 1: 2 copies",
    )
    assert result.description.startswith("4 surplus copies of 3 trades")


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_out_of_order_times_count_each_trade_earlier_than_its_predecessor(ordering: str) -> None:
    day = clean_day()
    times = day.column("trade_time_us").to_numpy().copy()
    btc = symbol_rows(day, "BTCUSDT")  # rows of ids 1, 2, 3, ... in order
    times[btc[100]] = times[btc[98]] - 1  # trade 101 stamped before trade 99
    sol = symbol_rows(day, "SOLUSDT")
    times[sol[0]] = times[sol[1]] + 1  # trade 1 stamped after trade 2
    ticks = ORDERINGS[ordering](
        pa.concat_tables([with_column(day, "trade_time_us", times), finnhub_ticks(5)])
    )

    result = check_time_monotonic(ticks)

    assert not result.passed
    assert result.count == 2
    assert len(result.examples) == 2
    assert result.examples[0].startswith("sim BTCUSDT: trade 101 at 2024-03-01T")
    assert "is before trade 100 at" in result.examples[0]
    assert result.examples[1].startswith("sim SOLUSDT: trade 2 at ")
    assert result.checked == 6_000


@pytest.mark.parametrize("ordering", ORDERINGS)
def test_a_bad_print_counts_two_price_jumps_there_and_back(ordering: str) -> None:
    day = clean_day()
    prices = day.column("price").to_numpy().copy()
    eth = symbol_rows(day, "ETHUSDT")
    prices[eth[500]] *= 1.5  # trade 501
    ticks = ORDERINGS[ordering](with_column(day, "price", prices))
    before, bad, after = (float(prices[row]) for row in eth[499:502])

    result = check_price_jumps(ticks)

    assert not result.passed
    assert result.count == 2
    assert result.examples[0].startswith(
        f"sim ETHUSDT: {before!r} -> {bad!r} ({(bad - before) / before:+.1%}) at trade 501, 2024-03-01T"
    )
    assert result.examples[1].startswith(
        f"sim ETHUSDT: {bad!r} -> {after!r} ({(after - bad) / bad:+.1%}) at trade 502, 2024-03-01T"
    )


def test_price_jump_bound_is_inclusive_and_relative_to_the_earlier_price() -> None:
    ticks = hand_prices([100.0, 110.0, 121.5, 121.5, 100.0])  # +10%, +10.45%, 0, -17.7%

    result = check_price_jumps(ticks, max_jump=0.10)
    lenient = check_price_jumps(ticks, max_jump=0.20)

    assert result.count == 2
    assert result.examples == (
        "binance BTCUSDT: 110.0 -> 121.5 (+10.5%) at trade 3, 2024-03-01T00:00:02.000000+00:00",
        "binance BTCUSDT: 121.5 -> 100.0 (-17.7%) at trade 5, 2024-03-01T00:00:04.000000+00:00",
    )
    assert lenient.passed


def test_price_jumps_follow_trade_time_not_trade_id() -> None:
    # Ids out of time order: by time the prices are 100, 101, 102; by id they would jump.
    ticks = hand_prices([100.0, 102.0, 101.0])
    times = ticks.column("trade_time_us").to_numpy().copy()
    times[[1, 2]] = times[[2, 1]]

    result = check_price_jumps(with_column(ticks, "trade_time_us", times), max_jump=0.015)

    assert result.passed


def test_price_jumps_refuse_a_non_positive_bound() -> None:
    with pytest.raises(ValueError, match="max_jump"):
        check_price_jumps(hand_prices([1.0]), max_jump=0.0)


def test_examples_are_capped_while_the_count_stays_exact() -> None:
    ticks = hand_prices([100.0, 200.0] * 10)

    result = check_price_jumps(ticks)

    assert result.count == 19
    assert len(result.examples) == 5


@pytest.mark.parametrize(
    "tamper, expected_example",
    [
        (
            lambda bars: with_column(bars, "volume", bars.column("volume").to_numpy() * (1 + 1e-6)),
            "sim BTCUSDT: ticks",
        ),
        (lambda bars: bars.slice(1), "sim BTCUSDT: ticks"),
        (
            lambda bars: with_column(bars, "trades", bars.column("trades").to_numpy() + 1),
            "sim BTCUSDT: ticks",
        ),
    ],
    ids=["volume_off_by_1e-6", "bar_missing", "trades_off_by_one"],
)
def test_tampered_bars_of_one_symbol_fail_reconciliation(
    tamper: Callable[[pa.Table], pa.Table], expected_example: str
) -> None:
    ticks = clean_day()
    bars = compute_bars_1m(ticks)
    btc = pc.equal(bars.column("symbol"), "BTCUSDT")
    btc_bars = tamper(bars.filter(btc))
    tampered = pa.concat_tables([btc_bars, bars.filter(pc.invert(btc))])

    result = check_bars_reconcile(ticks, tampered)

    assert not result.passed
    assert result.count == 1
    assert result.checked == 3
    assert len(result.examples) == 1 and result.examples[0].startswith(expected_example)


def test_bars_of_a_symbol_without_ticks_and_ticks_without_bars_both_fail() -> None:
    ticks = clean_day()
    bars = compute_bars_1m(ticks)
    not_sol = pc.not_equal(bars.column("symbol"), "SOLUSDT")
    extra = compute_bars_1m(finnhub_ticks(3))

    result = check_bars_reconcile(ticks, pa.concat_tables([bars.filter(not_sol), extra]))

    assert result.count == 2
    assert result.checked == 4
    assert result.examples == (
        "finnhub BINANCE:BTCUSDT: ticks 0 trades / 0.0 volume, bars 3 trades / 3.0 volume",
        result.examples[1],
    )
    assert result.examples[1].startswith("sim SOLUSDT: ticks 2") and result.examples[1].endswith(
        "bars 0 trades / 0.0 volume"
    )


def test_reconciliation_tolerates_rounding_far_below_the_relative_tolerance() -> None:
    ticks = clean_day()
    bars = compute_bars_1m(ticks)
    nudged = with_column(bars, "volume", bars.column("volume").to_numpy() * (1 + 1e-13))

    result = check_bars_reconcile(ticks, nudged)

    assert result.passed


def test_checks_of_one_table_after_another_each_see_their_own_rows() -> None:
    # The (venue, symbol) coding is kept for the last table checked: a second table of other symbols,
    # checked in between and after, must never be read with the first table's codes.
    day = clean_day()
    other = simulate_day(day_start_us=DAY_US, ticks=3_000, symbols=("XRPUSDT",)).sort_by("trade_id")
    other = pa.concat_tables([other, other.slice(0, 1)])  # one duplicate

    first = check_no_duplicates(day)
    second = check_no_duplicates(other)
    again = check_no_duplicates(day)
    gaps = trade_id_gap_runs(other)

    assert first.passed and again.passed and first.checked == again.checked == day.num_rows
    assert second.count == 1 and second.examples[0].startswith("sim XRPUSDT trade ")
    assert gaps == []


def test_the_coding_of_a_collected_table_is_let_go() -> None:
    import gc

    from trading_assets.market import quality

    day = clean_day()
    check_no_duplicates(day)
    assert quality._last_coded is not None

    del day
    gc.collect()

    assert quality._last_coded is None
