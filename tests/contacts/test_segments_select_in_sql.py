"""Segment filters select the right contacts in SQL, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from hub.bootstrap import Hub
from hub.contacts.audiences import create_segment, preview_segment
from hub.contacts.importer import import_stream
from hub.errors import RequestError
from tests.fakes.clock import FakeClock
from tests.support.scenario import new_client

NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z
DAY = 86400.0
A, B, C, D = "+73832123456", "+79161110002", "+79161110003", "+74951234567"
PEOPLE: list[dict[str, Any]] = [
    {
        "phone": A,
        "name": "Анна",
        "city": "Новосибирск",
        "average_check": "1500.5",
        "last_order_at": "2026-09-10T10:00:00Z",
        "vip": "true",
        "groups": "VIP",
        "marketing_consent": "1",
        "vk": "5001",
        "last_active_at": str(NOW - DAY),
    },
    {
        "phone": B,
        "name": "Борис",
        "city": "Казань",
        "average_check": "900",
        "last_order_at": "2026-05-15",
        "vip": "false",
        "groups": "VIP|Опт",
        "timezone": "Asia/Yekaterinburg",
        "telegram": "7002",
        "last_active_at": str(NOW - 100 * DAY),
    },
    {"phone": C, "city": "Казань"},
    {"phone": D, "marketing_consent": "0"},
]
_names = itertools.count()


@pytest.fixture
async def shop(hub: Hub, clock: FakeClock) -> str:
    clock.t = NOW
    _, client = await new_client(hub, "Shop")
    await import_stream(hub.uow, client.id, [(i + 2, row) for i, row in enumerate(PEOPLE)], NOW)
    async with hub.uow() as uow:
        contact = await uow.contacts.by_phone(client.id, C)
        assert contact is not None
        await uow.contacts.set_opted_out(contact.id, True)
        await uow.commit()
    return client.id


async def select(hub: Hub, client_id: str, raw: Any) -> set[str]:
    body = {"name": f"s{next(_names)}", "filter": raw}
    made = await create_segment(hub.uow(), client_id, body, NOW)
    preview = await preview_segment(hub.uow(), client_id, made["id"], NOW)
    phones = {c["phone"] for c in preview["sample"]}
    assert preview["count"] == len(phones)
    return phones


CASES: list[tuple[Any, set[str]]] = [
    (
        {
            "all": [
                {"attr": "city", "eq": "Казань"},
                {"attr": "last_order_at", "older_than": "90d"},
                {"group": "VIP"},
            ]
        },
        {B},
    ),
    ({"all": []}, {A, B, C, D}),
    ({"any": []}, set()),
    ({"attr": "city", "ne": "Казань"}, {A}),
    ({"not": {"attr": "city", "eq": "Казань"}}, {A, D}),
    ({"attr": "average_check", "gt": 1000}, {A}),
    ({"attr": "average_check", "lte": 900}, {B}),
    ({"attr": "average_check", "in": [900, 1]}, {B}),
    ({"attr": "city", "in": ["Омск", "Новосибирск"]}, {A}),
    ({"attr": "city", "contains": "зан"}, {B, C}),
    ({"attr": "city", "contains": "каз"}, set()),  # case-sensitive on both databases
    ({"attr": "average_check", "exists": False}, {C, D}),
    ({"attr": "city", "exists": True}, {A, B, C}),
    ({"attr": "last_order_at", "newer_than": "30d"}, {A}),
    ({"attr": "last_order_at", "gte": "2026-05-15"}, {A, B}),
    ({"attr": "last_order_at", "lt": "2026-05-15T00:00:01Z"}, {B}),
    ({"attr": "vip", "eq": True}, {A}),
    ({"attr": "vip", "ne": True}, {B}),
    ({"region": "Новосибирская обл."}, {A}),
    ({"region": ["Московская обл.", "Новосибирская обл."]}, {A, D}),
    ({"country": "ru"}, {A, B, C, D}),
    ({"timezone": "Europe/Moscow"}, {C, D}),
    ({"timezone": ["Asia/Yekaterinburg", "Asia/Novosibirsk"]}, {A, B}),
    ({"consent": True}, {A}),
    ({"consent": False}, {B, C, D}),
    ({"opted_out": True}, {C}),
    ({"active": {"channel": "vk", "within": "7d"}}, {A}),
    ({"active": {"within": "30d"}}, {A}),
    ({"active": {"channel": "telegram", "within": "30d"}}, set()),
    ({"active": {"channel": "telegram", "within": "52w"}}, {B}),
    ({"any": [{"group": "Опт"}, {"opted_out": True}]}, {B, C}),
    ({"not": {"any": [{"group": "VIP"}, {"consent": True}]}}, {C, D}),
]


@pytest.mark.parametrize(("raw", "expected"), CASES, ids=[str(i) for i in range(len(CASES))])
async def test_filter_selects(hub: Hub, shop: str, raw: Any, expected: set[str]) -> None:
    assert await select(hub, shop, raw) == expected


async def test_the_client_default_zone_decides_for_numbers_with_many_zones(hub: Hub, shop: str) -> None:
    async with hub.uow() as uow:
        await uow.clients.set_default_timezone(shop, "Asia/Omsk")
        await uow.commit()
    assert await select(hub, shop, {"timezone": "Europe/Moscow"}) == {D}  # a Moscow landline
    assert await select(hub, shop, {"timezone": "Asia/Omsk"}) == {C}  # a mobile, no zone given
    assert await select(hub, shop, {"timezone": "Asia/Yekaterinburg"}) == {B}  # its own zone wins


async def test_a_refused_segment_is_not_saved(hub: Hub, shop: str) -> None:
    bad = {"all": [{"group": "VIP"}, {"attr": "last_order_at", "older_than": "soon"}]}
    with pytest.raises(RequestError) as caught:
        await create_segment(hub.uow(), shop, {"name": "Lapsed", "filter": bad}, NOW)
    assert caught.value.status == 422 and caught.value.message.startswith("filter.all[1].older_than:")
    async with hub.uow() as uow:
        assert await uow.audiences.segments(shop) == []


async def test_segments_are_per_client(hub: Hub, shop: str) -> None:
    _, other = await new_client(hub, "Other")
    with pytest.raises(RequestError) as caught:  # the other client has no such attribute or group
        await create_segment(hub.uow(), other.id, {"name": "x", "filter": {"group": "VIP"}}, NOW)
    assert caught.value.status == 422
    made = await create_segment(hub.uow(), shop, {"name": "All", "filter": {"all": []}}, NOW)
    with pytest.raises(RequestError) as missing:
        await preview_segment(hub.uow(), other.id, made["id"], NOW)
    assert missing.value.status == 404
