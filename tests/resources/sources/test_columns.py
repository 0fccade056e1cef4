"""The one conversion of raw values to column values, strict (typed JSON) and lenient (text payloads)."""

from __future__ import annotations

import pytest

from resources.sources.columns import BadValue, RowBuilder, value_of

T_US = 1_796_032_800_000_000  # 2026-11-30T10:00:00Z


@pytest.mark.parametrize(
    ("kind", "raw", "lenient", "strict"),
    [
        ("int64", 12, 12, 12),
        ("int64", "12", 12, "field 'f': '12' is not an int64"),
        (
            "int64",
            True,
            "field 'f': True is not an int64 (a boolean is not a number)",
            "field 'f': True is not an int64",
        ),
        (
            "int64",
            1.5,
            "field 'f': 1.5 is not an int64 (not a whole number)",
            "field 'f': 1.5 is not an int64",
        ),
        ("float64", 2, 2.0, 2.0),
        ("float64", "2.5", 2.5, "field 'f': '2.5' is not a float64"),
        (
            "float64",
            float("nan"),
            "field 'f': nan is not a float64 (not a finite number)",
            "field 'f': nan is not a float64",
        ),
        ("bool", "yes", True, "field 'f': 'yes' is not a bool"),
        ("bool", 1, True, "field 'f': 1 is not a bool"),
        ("bool", False, False, False),
        ("string", 7, "7", "field 'f': 7 is not a string"),
        ("string", "DE", "DE", "DE"),
        ("time", "2026-11-30T10:00:00Z", T_US, T_US),
        (
            "time",
            "2026-11-30T10:00:00",
            T_US,
            "field 'f': '2026-11-30T10:00:00' has no time zone (add Z or +00:00)",
        ),
        (
            "time",
            "tomorrow",
            "field 'f': 'tomorrow' is not a time (Invalid isoformat string: 'tomorrow')",
            "field 'f': 'tomorrow' is not an ISO-8601 time",
        ),
        ("time", T_US // 1_000, T_US, T_US),  # milliseconds: lenient by magnitude, strict by the unit
    ],
)
def test_one_value_is_converted_leniently_or_strictly_and_a_bad_one_names_field_and_value(
    kind: str, raw: object, lenient: object, strict: object
) -> None:
    for is_strict, expected in ((False, lenient), (True, strict)):
        if isinstance(expected, str) and expected.startswith("field 'f'"):
            with pytest.raises(BadValue) as raised:
                value_of(kind, raw, field="f", strict=is_strict, epoch_unit="ms")
            assert str(raised.value) == expected
        else:
            assert value_of(kind, raw, field="f", strict=is_strict, epoch_unit="ms") == expected


@pytest.mark.parametrize("strict", [False, True])
def test_a_missing_value_is_named_in_both_modes(strict: bool) -> None:
    with pytest.raises(BadValue, match=r"^field 'area' is missing$"):
        value_of("string", None, field="area", strict=strict, epoch_unit="s")


def test_a_strict_time_without_its_epoch_unit_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="epoch_unit"):
        value_of("time", 1, field="t", strict=True)


def test_an_unknown_type_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"decimal.*string, int64"):
        value_of("decimal", "1", field="d", strict=False)


def test_the_row_builder_is_lenient_and_returns_the_reason_of_a_bad_payload() -> None:
    builder = RowBuilder({"area": "string", "price": "float64", "at": "time"})

    assert builder.add({"area": "DE", "price": "41.5", "at": "2026-11-30T10:00:00Z"}) is None
    assert builder.add({"area": "DE", "price": "x", "at": 1}) == (
        "field 'price': 'x' is not a float64 (could not convert string to float: 'x')"
    )
    assert builder.add({"area": "DE", "price": 1.0}) == "field 'at' is missing"
    assert builder.table().to_pylist() == [{"area": "DE", "price": 41.5, "at": T_US}]
