"""The daily partitions start early enough for the venues' history, or where configured."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from trading_assets.market.partitions import (
    DAILY,
    DEFAULT_START,
    PARTITIONS_START_ENV,
    daily_partitions,
    first_day,
    outside_partitions,
    partitions_start,
)

ROOT = Path(__file__).resolve().parents[3]


def test_partitions_start_no_later_than_2017_by_default() -> None:
    assert dt.date(2017, 1, 1) >= DEFAULT_START
    assert partitions_start({}) == DEFAULT_START
    assert DAILY.has_partition_key("2017-08-17")  # Binance's first trading day
    assert DAILY.has_partition_key("2020-03-12")


def test_the_first_partition_is_configurable_and_a_bad_value_names_the_variable() -> None:
    assert partitions_start({PARTITIONS_START_ENV: "2012-06-01"}) == dt.date(2012, 6, 1)
    with pytest.raises(ValueError, match=f"{PARTITIONS_START_ENV}='June'.*{PARTITIONS_START_ENV}=2017-01-01"):
        partitions_start({PARTITIONS_START_ENV: "June"})


def test_days_before_the_first_partition_are_outside() -> None:
    partitions = daily_partitions(dt.date(2020, 1, 1))

    days = [dt.date(2019, 12, 31), dt.date(2020, 1, 1), dt.date(2019, 5, 1), dt.date(2019, 12, 31)]

    assert first_day(partitions) == dt.date(2020, 1, 1)
    assert outside_partitions(days, partitions) == [dt.date(2019, 5, 1), dt.date(2019, 12, 31)]


def test_the_code_location_reads_the_start_when_it_loads() -> None:
    code = "from trading_assets.market.partitions import DAILY; print(DAILY.start.date())"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), PARTITIONS_START_ENV: "2015-07-01"},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2015-07-01"
