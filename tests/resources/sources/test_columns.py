"""Typed columns shared by the CSV (ftp) and SOAP sources: every value fits its column or says why not."""

from __future__ import annotations

import datetime as dt
import decimal

import pyarrow as pa
import pytest

from resources.sources.columns import ColumnValueError, TypedColumns, records_table

T0 = 1767607200_000000  # 2026-01-05T10:00:00Z in microseconds


def columns(epoch_unit: str = "s") -> TypedColumns:
    return TypedColumns(
        columns={"t": "int64", "n": "int64", "x": "float64", "s": "string", "b": "bool"},
        time_columns=("t",),
        epoch_unit=epoch_unit,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "value",
    [
        "2026-01-05T10:00:00Z",
        "2026-01-05T10:00:00+00:00",
        "2026-01-05T11:00:00+01:00",
        "2026-01-05T10:00:00",  # no offset: UTC
        "2026-01-05 10:00:00.000000",
        "1767607200",
        "1767607200.0",
        1767607200,
        decimal.Decimal("1767607200"),
        dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 5, 10),
    ],
)
def test_times_in_every_accepted_form_become_the_same_microseconds(value: object) -> None:
    assert columns().convert("t", value) == T0


@pytest.mark.parametrize(
    ("unit", "value"), [("ms", "1767607200000"), ("us", "1767607200000000"), ("ns", 1767607200_000000_000)]
)
def test_epoch_units(unit: str, value: object) -> None:
    assert columns(unit).convert("t", value) == T0


def test_fractional_epoch_seconds_keep_microseconds() -> None:
    assert columns().convert("t", "1767607200.123456") == T0 + 123456


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("n", "42", 42),
        ("n", 7.0, 7),
        ("x", "1.5", 1.5),
        ("x", 3, 3.0),
        ("x", decimal.Decimal("2.25"), 2.25),
        ("s", "DE", "DE"),
        ("s", 12, "12"),
        ("b", "TRUE", True),
        ("b", "0", False),
        ("b", False, False),
    ],
)
def test_values_that_fit(column: str, value: object, expected: object) -> None:
    assert columns().convert(column, value) == expected


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("t", "yesterday", "field 't' value 'yesterday' is not a time"),
        ("t", True, "field 't' value True is not a time"),
        ("t", dt.date(2026, 1, 5), "is not a time"),
        ("n", "4.5", "field 'n' value '4.5' is not a valid int64"),
        ("n", 4.5, "field 'n' value 4.5 is not a valid int64"),
        ("n", True, "field 'n' value True is not a valid int64"),
        ("n", str(2**63), "is not a valid int64"),
        ("x", "nan", "field 'x' value 'nan' is not a valid float64"),
        ("x", "inf", "is not a valid float64"),
        ("x", "1,5", "is not a valid float64"),
        ("b", "maybe", "field 'b' value 'maybe' is not a valid bool"),
        ("s", "", "field 's' is empty"),
        ("x", None, "field 'x' is empty"),
    ],
)
def test_values_that_do_not_fit_name_the_field_and_value(column: str, value: object, message: str) -> None:
    with pytest.raises(ColumnValueError) as raised:
        columns().convert(column, value)
    assert message in str(raised.value)


def test_a_missing_field_is_named() -> None:
    with pytest.raises(ColumnValueError, match="field 'b' is missing"):
        columns().row({"t": "2026-01-05T10:00:00Z", "n": 1, "x": 1.0, "s": "a"})


def test_a_time_column_must_be_int64() -> None:
    with pytest.raises(ValueError, match="time column 's' must be a column of type 'int64'"):
        TypedColumns(columns={"s": "string"}, time_columns=("s",))


def test_records_table_has_the_schema_even_when_empty() -> None:
    schema = pa.schema([pa.field(f.name, f.type, nullable=False) for f in columns().arrow_fields()])
    assert records_table(schema, []).schema == schema
    row = columns().row({"t": "2026-01-05T10:00:00Z", "n": "1", "x": "2", "s": "a", "b": "yes"})
    table = records_table(schema, [row])
    assert table.to_pylist() == [{"t": T0, "n": 1, "x": 2.0, "s": "a", "b": True}]
