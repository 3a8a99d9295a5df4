"""The segment filter language, parsed without a database: what it accepts and where it points at errors."""

from __future__ import annotations

from typing import Any

import pytest

from hub.contacts.segment_filter import FilterError, duration, parse_filter
from storage.filters import Active, All, AnyOf, Attr, Field, Flag, InGroup, Not

NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z
TYPES: dict[str, Any] = {
    "city": "string",
    "last_order_at": "date",
    "average_check": "number",
    "vip": "boolean",
}
GROUPS = {"VIP", "Опт"}


def parse(raw: Any) -> Any:
    return parse_filter(raw, TYPES, GROUPS, NOW)


def test_the_example_from_the_issue_parses_into_the_storage_tree() -> None:
    tree = parse(
        {
            "all": [
                {"attr": "city", "eq": "Казань"},
                {"attr": "last_order_at", "older_than": "90d"},
                {"group": "VIP"},
            ]
        }
    )
    assert tree == All(
        (
            Attr("city", "string", "eq", "Казань"),
            Attr("last_order_at", "date", "lt", "2026-06-23T14:13:20Z"),
            InGroup("VIP"),
        )
    )


def test_every_leaf_and_combinator() -> None:
    tree = parse(
        {
            "any": [
                {"not": {"attr": "vip", "eq": True}},
                {"attr": "average_check", "gte": 1500},
                {"attr": "average_check", "in": [1, 2.5]},
                {"attr": "city", "contains": "зан"},
                {"attr": "city", "exists": False},
                {"attr": "last_order_at", "newer_than": "2w"},
                {"attr": "last_order_at", "lte": "2026-01-02"},
                {"region": "Новосибирская обл."},
                {"country": ["ru", "KZ"]},
                {"timezone": "Asia/Novosibirsk"},
                {"consent": True},
                {"opted_out": False},
                {"active": {"channel": "vk", "within": "30d"}},
                {"active": {"within": "12h"}},
            ]
        }
    )
    assert isinstance(tree, AnyOf)
    assert tree.parts == (
        Not(Attr("vip", "boolean", "eq", True)),
        Attr("average_check", "number", "gte", 1500),
        Attr("average_check", "number", "in", (1, 2.5)),
        Attr("city", "string", "contains", "зан"),
        Not(Attr("city", "string", "exists")),
        Attr("last_order_at", "date", "gt", "2026-09-07T14:13:20Z"),
        Attr("last_order_at", "date", "lte", "2026-01-02"),
        Field("region", ("Новосибирская обл.",)),
        Field("country", ("RU", "KZ")),
        Field("timezone", ("Asia/Novosibirsk",)),
        Flag("marketing_consent", True),
        Flag("opted_out", False),
        Active("vk", NOW - 30 * 86400),
        Active(None, NOW - 12 * 3600),
    )


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (
            {"all": [{"group": "VIP"}, {"attr": "last_order_at", "older_than": "90 days"}]},
            "filter.all[1].older_than",
        ),
        ({"all": [{"attr": "cty", "eq": "Казань"}]}, "filter.all[0].attr"),
        ({"attr": "city", "like": "К%"}, "filter.like"),
        ({"attr": "city", "eq": 5}, "filter.eq"),
        ({"attr": "average_check", "eq": "много"}, "filter.eq"),
        ({"attr": "average_check", "contains": "1"}, "filter.contains"),
        ({"attr": "city", "older_than": "3d"}, "filter.older_than"),
        ({"attr": "vip", "eq": "yes"}, "filter.eq"),
        ({"attr": "last_order_at", "gt": "вчера"}, "filter.gt"),
        ({"attr": "average_check", "in": []}, "filter.in"),
        ({"attr": "average_check", "in": [1, "2"]}, "filter.in[1]"),
        ({"attr": "city", "eq": "a", "ne": "b"}, "filter"),
        ({"any": {"group": "VIP"}}, "filter.any"),
        ({"not": [{"group": "VIP"}]}, "filter.not"),
        ({"group": "Nobody"}, "filter.group"),
        ({"timezone": "Mars/Olympus"}, "filter.timezone"),
        ({"consent": "yes"}, "filter.consent"),
        ({"active": {"channel": "whatsapp", "within": "1d"}}, "filter.active.channel"),
        ({"active": {"within": "0d"}}, "filter.active.within"),
        ({"everyone": True}, "filter.everyone"),
        ({"group": "VIP", "consent": True}, "filter"),
        ([], "filter"),
    ],
)
def test_bad_filters_name_the_part_at_fault(raw: Any, path: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse(raw)
    assert caught.value.status == 422 and caught.value.code == "invalid_filter"
    assert caught.value.path == path and caught.value.message.startswith(f"{path}: ")


def test_huge_or_deep_filters_are_refused() -> None:
    deep: Any = {"group": "VIP"}
    for _ in range(20):
        deep = {"not": deep}
    with pytest.raises(FilterError, match="too large"):
        parse(deep)
    with pytest.raises(FilterError, match="too large"):
        parse({"any": [{"group": "VIP"}] * 500})


def test_durations() -> None:
    assert [duration(d, "x") for d in ("45m", "12h", "90d", "2w")] == [2700, 43200, 7776000, 1209600]
    for bad in ("90", "d", "-1d", "1.5d", "1y", 90, None):
        with pytest.raises(FilterError):
            duration(bad, "x")
