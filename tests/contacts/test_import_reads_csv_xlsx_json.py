"""Import files read as streams: CSV in UTF-8 or cp1251 with any separator, XLSX, JSON lists; rows checked."""

from __future__ import annotations

import io
import json
from datetime import datetime
from typing import Any

import pytest
from openpyxl import Workbook

from hub.contacts.import_file import ImportRow, RowChecker, RowError
from hub.contacts.import_formats import read_items
from hub.errors import RequestError

NOW = 1_790_000_000.0
CSV = (
    "Телефон;Name;Город;average_check;last_order_at;vip;groups;timezone;marketing_consent;consent_source\n"
    "+7 383 212-34-56;Анна;Новосибирск;1500,5;2026-05-01;да;VIP|Опт;;1;сайт\n"
    "89161110002;Борис;Казань;900;2026-04-01T10:00:00+03:00;нет;VIP;Asia/Yekaterinburg;;\n"
)


def items(data: bytes, kind: str) -> list[tuple[int | None, Any]]:
    return list(read_items(io.BytesIO(data), kind))


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_cp1251_and_utf8_with_semicolons_read_the_same() -> None:
    utf8, cp1251 = items(CSV.encode(), "csv"), items(CSV.encode("cp1251"), "csv")
    assert utf8 == cp1251
    assert utf8[0] == (
        2,
        {
            "phone": "+7 383 212-34-56",
            "name": "Анна",
            "город": "Новосибирск",
            "average_check": "1500,5",
            "last_order_at": "2026-05-01",
            "vip": "да",
            "groups": "VIP|Опт",
            "timezone": "",
            "marketing_consent": "1",
            "consent_source": "сайт",
        },
    )


def test_commas_tabs_and_a_bom() -> None:
    for text in ("\ufeffphone,city\n+79161110001,Омск\n", "phone\tcity\n+79161110001\tОмск\n"):
        assert items(text.encode(), "csv") == [(2, {"phone": "+79161110001", "city": "Омск"})]


def test_rows_become_contacts_with_typed_attributes_groups_zone_and_place() -> None:
    checker = RowChecker(NOW)
    rows = [checker.check(i, line, raw) for i, (line, raw) in enumerate(items(CSV.encode("cp1251"), "csv"))]
    first, second = rows
    assert isinstance(first, ImportRow) and isinstance(second, ImportRow)
    assert (first.phone, first.name, first.groups, first.marketing_consent, first.consent_source) == (
        "+73832123456",
        "Анна",
        ("VIP", "Опт"),
        True,
        "сайт",
    )
    assert first.attributes == {
        "город": "Новосибирск",
        "average_check": 1500.5,
        "last_order_at": "2026-05-01",
        "vip": True,
    }
    assert (first.place.region, first.place.timezone, first.timezone) == (
        "Новосибирская обл.",
        "Asia/Novosibirsk",
        None,
    )
    assert (second.place.country, second.place.timezone, second.timezone) == (
        "RU",
        None,
        "Asia/Yekaterinburg",
    )
    assert second.attributes["last_order_at"] == "2026-04-01T07:00:00Z" and second.attributes["vip"] is False
    assert checker.learned == {
        "город": "string",
        "average_check": "number",
        "last_order_at": "date",
        "vip": "boolean",
    }


def test_a_value_of_the_wrong_type_is_an_error_of_its_row() -> None:
    checker = RowChecker(NOW, {"average_check": "number"})
    bad = checker.check(0, 2, {"phone": "+79161110001", "average_check": "дорого"})
    assert isinstance(bad, RowError) and bad.code == "invalid_attribute_value"
    assert bad.message.startswith("average_check: a number expected")
    zone = checker.check(1, 3, {"phone": "+79161110002", "timezone": "Moscow"})
    assert isinstance(zone, RowError) and zone.code == "invalid_timezone"


def test_xlsx_cells_keep_their_types() -> None:
    data = xlsx(
        [
            ["phone", "Name", "last_order_at", "average_check", "vip", "groups"],
            [79161110001, "Анна", datetime(2026, 5, 1, 12, 30), 1500, True, "VIP; Опт"],
            [None, None, None, None, None, None],
            ["+79161110002", None, None, 99.5, None, None],
        ]
    )
    read = items(data, "xlsx")
    assert read == [
        (
            2,
            {
                "phone": "79161110001",
                "name": "Анна",
                "last_order_at": datetime(2026, 5, 1, 12, 30),
                "average_check": 1500,
                "vip": True,
                "groups": "VIP; Опт",
            },
        ),
        (4, {"phone": "+79161110002", "average_check": 99.5}),
    ]
    row = RowChecker(NOW).check(0, 2, read[0][1])
    assert isinstance(row, ImportRow) and row.attributes["last_order_at"] == "2026-05-01T12:30:00Z"
    assert row.groups == ("VIP", "Опт")


def test_a_json_list_is_read_item_by_item() -> None:
    many = [{"phone": f"+7916{i:07d}", "n": i} for i in range(30_000)]  # several read buffers long
    read = items(json.dumps(many, ensure_ascii=False).encode(), "json")
    assert len(read) == 30_000 and read[-1] == (None, {"phone": "+79160029999", "n": 29999})
    assert items(b'{"contacts": [{"phone": "+79161110001"}]}', "json") == [(None, {"phone": "+79161110001"})]


@pytest.mark.parametrize(
    ("data", "kind", "code"),
    [
        (b"name,city\n", "csv", "missing_column"),
        (b"phone;city;City\n", "csv", "duplicate_column"),
        (b"phone\x00\x01\x02", "csv", "malformed_import"),
        (b"PK\x03\x04 not really a zip", "xlsx", "malformed_import"),
        (b"[{]", "json", "malformed_import"),
        (b'"just text"', "json", "malformed_import"),
    ],
)
def test_unreadable_files_are_refused_before_the_first_row(data: bytes, kind: str, code: str) -> None:
    with pytest.raises(RequestError) as caught:
        items(data, kind)
    assert caught.value.code == code
