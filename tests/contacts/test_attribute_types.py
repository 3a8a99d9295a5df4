"""Attribute values: a first value gives the type, later values must fit it; dates stored as ISO strings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from hub.contacts.attributes import check_name, coerce, column_name, infer, typed
from hub.errors import RequestError


@pytest.mark.parametrize(
    ("raw", "kind", "stored"),
    [
        ("Казань", "string", "Казань"),
        ("01234", "string", "01234"),  # a leading zero is a code, not a number
        ("1500", "number", 1500),
        ("1500,50", "number", 1500.5),
        (-3.25, "number", -3.25),
        ("TRUE", "boolean", True),
        (False, "boolean", False),
        ("2026-05-01", "date", "2026-05-01"),
        ("2026-05-01T10:00:00+03:00", "date", "2026-05-01T07:00:00Z"),
        (datetime(2026, 5, 1, 7, tzinfo=UTC), "date", "2026-05-01T07:00:00Z"),
        (date(2026, 5, 1), "date", "2026-05-01"),
        ("2026-13-45", "string", "2026-13-45"),
    ],
)
def test_a_first_value_gives_the_type(raw: Any, kind: str, stored: Any) -> None:
    assert infer(raw) == (kind, stored)


def test_later_values_must_fit_the_known_type() -> None:
    assert coerce("да", "boolean", "vip") is True
    assert coerce(12, "string", "code") == "12"
    for value, kind in (("abc", "number"), (True, "number"), ("maybe", "boolean"), ("May 1st", "date")):
        with pytest.raises(RequestError) as caught:
            coerce(value, kind, "attributes.x")  # type: ignore[arg-type]
        assert caught.value.code == "invalid_attribute_value"
        assert caught.value.message.startswith("attributes.x: ")


def test_typed_learns_new_names_and_keeps_empty_as_none() -> None:
    values, learned = typed({"city": "Омск", "average_check": "", "orders": "7"}, {"city": "string"})
    assert values == {"city": "Омск", "average_check": None, "orders": 7}
    assert learned == {"orders": "number"}


def test_names() -> None:
    assert column_name(" Last Order-At ") == "last_order_at"
    assert column_name("Город") == "город"
    assert check_name("город") == "город"
    for bad in ("1st", "", "phone", "groups", "a" * 65):
        with pytest.raises(RequestError):
            check_name(bad)
