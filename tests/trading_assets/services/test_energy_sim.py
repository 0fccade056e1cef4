"""The energy simulator: realistic deterministic shapes, and its ENTSO-E API's edges over real HTTP."""

from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import ftplib
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import requests
from lxml import etree

from trading_assets.core.time import day_start_us
from trading_assets.services.energy_sim import EntsoeApiServer, ManualClock, MarketShape, ReplayClock
from trading_assets.services.energy_sim.cli import add_arguments, run
from trading_assets.services.energy_sim.ftp_drop import trade_drops
from trading_assets.services.energy_sim.intraday_trades import intraday_trades

TOKEN = "tok-42"
AREA = "10Y1001A1001A82H"
MONDAY = dt.date(2026, 11, 30)
SATURDAY = dt.date(2026, 12, 5)


def _at(day: dt.date, hour: float) -> float:
    return day_start_us(day) / 1e6 + hour * 3600


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(_at(MONDAY, 13))


@pytest.fixture
def api(clock: ManualClock) -> Iterator[EntsoeApiServer]:
    with EntsoeApiServer(token=TOKEN, clock=clock) as server:
        yield server


def _get(api: EntsoeApiServer, headers: dict[str, str] | None = None, **params: str) -> requests.Response:
    query = {
        "securityToken": TOKEN,
        "documentType": "A44",
        "in_Domain": AREA,
        "out_Domain": AREA,
        "periodStart": "202611300000",
        "periodEnd": "202612010000",
    }
    query.update(params)
    return requests.get(api.url, params={k: v for k, v in query.items() if v}, headers=headers, timeout=5)


def test_the_same_seed_gives_the_same_market_and_another_seed_another() -> None:
    a, b, c = MarketShape(seed=1), MarketShape(seed=1), MarketShape(seed=2)

    assert np.array_equal(a.price(AREA, MONDAY, 60), b.price(AREA, MONDAY, 60))
    assert np.array_equal(a.forecast("wind", AREA, MONDAY, 15, 2), b.forecast("wind", AREA, MONDAY, 15, 2))
    assert not np.array_equal(a.load(AREA, MONDAY, 60), c.load(AREA, MONDAY, 60))


def test_load_has_a_morning_and_an_evening_peak_over_the_night_and_dips_at_the_weekend() -> None:
    load = MarketShape().load(AREA, MONDAY, 60)

    night = load[2:5].mean()
    assert load[7:10].max() > 1.25 * night and load[17:20].max() > 1.35 * night
    assert load[17:20].max() > load[12:15].mean()  # the evening peak is the day's top
    assert MarketShape().load(AREA, SATURDAY, 60).mean() < 0.9 * load.mean()


def test_solar_is_a_bell_by_day_and_zero_at_night_larger_in_summer() -> None:
    shape = MarketShape()
    winter, summer = shape.solar(AREA, MONDAY, 60), shape.solar(AREA, dt.date(2026, 6, 22), 60)

    assert winter[0] == 0 and winter[23] == 0 and winter[12] > 0
    assert int(np.argmax(winter)) in (11, 12)
    assert summer.sum() > winter.sum()


def test_prices_follow_the_net_load_and_repeat_within_a_merit_order_step() -> None:
    shape = MarketShape()
    days = [MONDAY + dt.timedelta(days=i) for i in range(14)]
    net = np.concatenate(
        [shape.load(AREA, d, 60) - shape.solar(AREA, d, 60) - shape.wind(AREA, d, 60) for d in days]
    )
    prices = np.concatenate([shape.price(AREA, d, 60) for d in days])

    assert np.corrcoef(net, prices)[0, 1] > 0.7
    assert (np.diff(prices) == 0).sum() > 24  # plateaus: what curve type A03 compresses


def test_later_forecast_issues_are_closer_to_the_actual_values() -> None:
    shape = MarketShape()
    days = [MONDAY + dt.timedelta(days=i) for i in range(10)]
    errors = [
        np.mean(
            [
                np.abs(shape.forecast("load", AREA, d, 15, k) - shape.actual("load", AREA, d, 15)).mean()
                for d in days
            ]
        )
        for k in range(4)
    ]

    assert errors == sorted(errors, reverse=True) and errors[3] < 0.5 * errors[0]


def test_without_the_token_the_api_answers_401(api: EntsoeApiServer) -> None:
    assert _get(api, securityToken="").status_code == 401
    assert _get(api, securityToken="nope").status_code == 401
    assert _get(api).status_code == 200


def test_etag_and_last_modified_give_304_until_a_new_issue(api: EntsoeApiServer, clock: ManualClock) -> None:
    params = {
        "documentType": "A65",
        "processType": "A01",
        "in_Domain": "",
        "out_Domain": "",
        "outBiddingZone_Domain": AREA,
    }
    params.update(periodStart="202612010000", periodEnd="202612020000")
    first = _get(api, **params)

    by_etag = _get(api, {"If-None-Match": first.headers["ETag"]}, **params)
    by_date = _get(api, {"If-Modified-Since": first.headers["Last-Modified"]}, **params)
    clock.now = _at(MONDAY, 18.5)  # tomorrow's forecast re-issued at 18:00
    reissued = _get(api, {"If-None-Match": first.headers["ETag"]}, **params)

    assert first.status_code == 200 and first.headers["Last-Modified"] == "Mon, 30 Nov 2026 10:00:00 GMT"
    assert by_etag.status_code == 304 and by_date.status_code == 304
    assert reissued.status_code == 200 and reissued.headers["ETag"] != first.headers["ETag"]
    assert b"2026-11-30T18:00:00Z" in reissued.content


def test_the_rate_limit_answers_429_with_retry_after(clock: ManualClock) -> None:
    with EntsoeApiServer(token=TOKEN, clock=clock, rate_limit=2, rate_window_s=20) as api:
        answers = [_get(api) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 20
    assert api.stats.rate_limited == 1


def test_the_date_header_is_the_simulated_clock(api: EntsoeApiServer, clock: ManualClock) -> None:
    clock.now = _at(MONDAY, 7.25)

    answer = _get(api)

    assert email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp() == _at(MONDAY, 7.25)


def test_nothing_published_yet_is_the_no_matching_data_acknowledgement(api: EntsoeApiServer) -> None:
    answer = _get(api, periodStart="202612050000", periodEnd="202612060000")

    root = etree.fromstring(answer.content)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/xml"
    assert etree.QName(root).localname == "Acknowledgement_MarketDocument"
    assert b"<code>999</code>" in answer.content and b"No matching data found" in answer.content


def test_bad_parameters_are_400_with_the_reason(api: EntsoeApiServer) -> None:
    answer = _get(api, periodStart="2026-11-30")

    assert answer.status_code == 400 and b"periodStart must be given as yyyyMMddHHmm" in answer.content


def test_a_replay_clock_runs_faster_than_the_wall() -> None:
    replay = ReplayClock(_at(MONDAY, 0), speed=100.0)
    first = replay()
    deadline = dt.datetime.now() + dt.timedelta(milliseconds=200)
    while dt.datetime.now() < deadline:
        pass

    assert replay() - first >= 15.0  # 0.2 s of wall time is 20 simulated seconds


def test_the_command_serves_with_the_token_from_the_environment_and_prints_its_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import argparse
    import json
    import threading
    import time

    from trading_assets.services.energy_sim.cli import add_arguments, run

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    monkeypatch.setenv("SIM_TOKEN", TOKEN)
    args = parser.parse_args(
        ["--port", "0", "--token-env", "SIM_TOKEN", "--start", "2026-11-30T13:00:00+00:00", "--no-ftp"]
    )
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(run(args, stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while "entsoe_url" not in (out := capsys.readouterr().out) and time.monotonic() < deadline:
            time.sleep(0.05)
        url = json.loads(out)["entsoe_url"]
        answers = [
            requests.get(url, params={"securityToken": token}, timeout=5).status_code for token in ("", TOKEN)
        ]
    finally:
        stop.set()
        thread.join(timeout=10)

    assert answers == [401, 400]  # the token is checked first; then the query lacks its parameters
    assert codes == [0]


def test_the_command_refuses_to_start_without_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from trading_assets.services.energy_sim.cli import add_arguments, run

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    monkeypatch.delenv("ENTSOE_API_KEY", raising=False)

    assert run(parser.parse_args(["--port", "0"])) == 2


def test_the_command_also_serves_the_intraday_trades_ftp_drop_up_to_its_clock(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("pyftpdlib")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    monkeypatch.setenv("ENTSOE_API_KEY", TOKEN)
    monkeypatch.setenv("ENERGY_FTP_PASSWORD", "drop-pw")
    args = parser.parse_args(
        [
            *("--port", "0", "--ftp-port", "0", "--start", "2026-11-30T13:00:00+00:00"),
            *("--history-days", "1", "--trades-per-day", "400", "--ftp-dir", str(tmp_path / "drop")),
        ]
    )
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(run(args, stop)))
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while "ftp_url" not in (out := capsys.readouterr().out) and time.monotonic() < deadline:
            time.sleep(0.05)
        shown = json.loads(out)
        host, port = shown["ftp_url"].removeprefix("ftp://").split(":")
        with ftplib.FTP() as ftp:
            ftp.connect(host, int(port), timeout=10)
            ftp.login("energy", "drop-pw")
            listed = set(ftp.nlst())
    finally:
        stop.set()
        thread.join(timeout=20)

    # The trades executed before the simulated start (13:00, speed 1), of the days from the day before.
    trades = pa.concat_tables(
        intraday_trades(dt.date(2026, 11, 29) + dt.timedelta(days=n), seed=7, trades=400) for n in range(3)
    )
    before = trades.filter(pc.less(trades.column("trade_time"), day_start_us(MONDAY) + 13 * 3_600_000_000))
    names = {f.name for f in trade_drops(before)}
    assert shown["first_trades_day"] == "2026-11-29"
    assert listed == names | {n + ".sha256" for n in names}
    assert codes == [0]


def test_the_command_refuses_the_ftp_drop_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    monkeypatch.setenv("ENTSOE_API_KEY", TOKEN)
    monkeypatch.delenv("ENERGY_FTP_PASSWORD", raising=False)

    assert run(parser.parse_args(["--port", "0"])) == 2
