"""Groups, segments, the contact list and contact profiles through the HTTP API, on both databases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hub.api.app import create_app
from hub.bootstrap import Hub
from tests.fakes.clock import FakeClock
from tests.support.linking_env import Env
from tests.support.scenario import new_client

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
CSV = (
    "phone;name;city;average_check;last_order_at;groups;marketing_consent\n"
    "+73832123456;Анна;Новосибирск;1500;2026-01-10;VIP;1\n"
    "+79161110002;Борис;Казань;900;2025-01-10;VIP|Опт;0\n"
    "+79161110003;Вера;Казань;;;;\n"
    "+79161110004;Глеб;Омск;100;;Опт;\n"
    "+79161110005;Дина;Казань;2000;2026-01-01;;\n"
)


@pytest.fixture
async def env(hub: Hub, clock: FakeClock, aiohttp_client: MakeClient) -> Env:
    clock.t = 1_769_904_000.0  # 2026-02-01
    made = Env(hub, await aiohttp_client(create_app(hub, run_workers=False)), clock)
    created, client = await new_client(hub, "Pizza")
    made.key, made.client_id = created.api_key, client.id
    resp = await made.api.post(
        "/v1/contacts/import", data=CSV.encode(), headers={**made.auth, "Content-Type": "text/csv"}
    )
    assert resp.status == 200 and (await resp.json())["created"] == 5, await resp.text()
    return made


async def call(env: Env, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
    auth = {"Authorization": f"Bearer {key or env.key}"}
    resp = await env.api.request(method, path, json=body, headers=auth)
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def test_groups_are_created_filled_emptied_and_deleted(env: Env) -> None:
    status, made = await call(env, "POST", "/v1/groups", {"name": "Новые"})
    assert status == 201 and set(made) == {"id", "name"} and made["name"] == "Новые"
    assert (await call(env, "POST", "/v1/groups", {"name": "Новые"}))[0] == 409
    assert (await call(env, "POST", "/v1/groups", {"name": ""}))[0] == 422
    status, added = await call(
        env,
        "POST",
        f"/v1/groups/{made['id']}/members",
        {"phones": ["+73832123456", "89161110003", "+79169999999"]},
    )
    assert status == 200 and added == {"added": 2, "already": 0, "not_found": ["+79169999999"]}
    status, again = await call(env, "POST", f"/v1/groups/{made['id']}/members", {"phones": ["+79161110003"]})
    assert again == {"added": 0, "already": 1, "not_found": []}
    status, bad = await call(
        env, "POST", f"/v1/groups/{made['id']}/members", {"phones": ["+79161110003", "oops"]}
    )
    assert status == 422 and bad["error"]["message"].startswith("phones[1]:")
    status, groups = await call(env, "GET", "/v1/groups")
    assert [(g["name"], g["members"]) for g in groups["groups"]] == [("VIP", 2), ("Новые", 2), ("Опт", 2)]
    status, removed = await call(
        env, "DELETE", f"/v1/groups/{made['id']}/members", {"phones": ["+73832123456"]}
    )
    assert status == 200 and removed == {"removed": 1, "not_members": 0, "not_found": []}
    assert (await env.contact("+73832123456"))["groups"] == ["VIP"]
    assert (await call(env, "DELETE", f"/v1/groups/{made['id']}"))[0] == 204
    assert (await call(env, "DELETE", f"/v1/groups/{made['id']}"))[0] == 404
    assert (await env.contact("+79161110003"))["groups"] == []


async def test_a_group_a_segment_uses_is_kept(env: Env) -> None:
    _, groups = await call(env, "GET", "/v1/groups")
    vip = next(g for g in groups["groups"] if g["name"] == "VIP")
    assert (await call(env, "POST", "/v1/segments", {"name": "V", "filter": {"group": "VIP"}}))[0] == 201
    status, body = await call(env, "DELETE", f"/v1/groups/{vip['id']}")
    assert status == 409 and body["error"]["code"] == "group_in_use"


async def test_segments_are_saved_listed_previewed_and_bad_ones_refused(env: Env) -> None:
    lapsed = {
        "all": [
            {"attr": "city", "eq": "Казань"},
            {"attr": "last_order_at", "older_than": "90d"},
            {"group": "VIP"},
        ]
    }
    status, made = await call(env, "POST", "/v1/segments", {"name": "Lapsed", "filter": lapsed})
    assert status == 201 and made["filter"] == lapsed and made["name"] == "Lapsed"
    for bad, where in (
        (
            {"all": [{"group": "VIP"}, {"attr": "last_order_at", "older_than": "3 months"}]},
            "filter.all[1].older_than",
        ),
        ({"attr": "town", "eq": "Омск"}, "filter.attr"),
        ({"attr": "city", "matches": "Омск"}, "filter.matches"),
        ({"attr": "average_check", "gt": "много"}, "filter.gt"),
    ):
        status, error = await call(env, "POST", "/v1/segments", {"name": "Bad", "filter": bad})
        assert status == 422 and error["error"]["code"] == "invalid_filter"
        assert error["error"]["message"].startswith(where + ":")
    assert (await call(env, "POST", "/v1/segments", {"name": "Lapsed", "filter": {"all": []}}))[0] == 409
    assert (await call(env, "POST", "/v1/segments", {"name": "No filter"}))[0] == 422
    _, listed = await call(env, "GET", "/v1/segments")
    assert [s["name"] for s in listed["segments"]] == ["Lapsed"]  # nothing half-created
    status, preview = await call(env, "GET", f"/v1/segments/{made['id']}/preview")
    assert status == 200 and preview["count"] == 1
    assert [(c["phone"], c["name"], c["groups"]) for c in preview["sample"]] == [
        ("+79161110002", "Борис", ["VIP", "Опт"])
    ]
    assert (await call(env, "GET", "/v1/segments/seg_nope/preview"))[0] == 404


async def test_the_contact_list_pages_by_cursor_and_filters(env: Env) -> None:
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        status, page = await call(env, "GET", f"/v1/contacts?limit=2&cursor={cursor}")
        assert status == 200 and len(page["contacts"]) <= 2
        seen += [c["phone"] for c in page["contacts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 5
    _, vip = await call(env, "GET", "/v1/contacts?group=VIP")
    assert {c["phone"] for c in vip["contacts"]} == {"+73832123456", "+79161110002"}
    _, made = await call(
        env, "POST", "/v1/segments", {"name": "Big", "filter": {"attr": "average_check", "gte": 1000}}
    )
    _, big = await call(env, "GET", f"/v1/contacts?segment={made['id']}&group=VIP")
    assert [c["phone"] for c in big["contacts"]] == ["+73832123456"]
    _, named = await call(env, "GET", "/v1/contacts?q=Вер")
    assert [c["name"] for c in named["contacts"]] == ["Вера"]
    _, by_digits = await call(env, "GET", "/v1/contacts?q=1110004")
    assert [c["name"] for c in by_digits["contacts"]] == ["Глеб"]
    assert (await call(env, "GET", "/v1/contacts?group=Nobody"))[0] == 404
    assert (await call(env, "GET", "/v1/contacts?limit=0"))[0] == 422
    created, _ = await new_client(env.hub, "Sushi")
    _, theirs = await call(env, "GET", "/v1/contacts", key=created.api_key)
    assert theirs == {"contacts": [], "next_cursor": None}


async def test_a_contact_is_read_patched_with_typed_attributes_and_consent(env: Env) -> None:
    contact = await env.contact("+73832123456")
    for kept in (
        "id",
        "phone",
        "opted_out",
        "ownership",
        "marketing_consent",
        "identities",
        "thread_id",
        "created_at",
    ):
        assert kept in contact
    assert contact["name"] == "Анна" and contact["attributes"] == {
        "city": "Новосибирск",
        "average_check": 1500,
        "last_order_at": "2026-01-10",
    }
    assert (contact["country"], contact["region"], contact["timezone"]) == (
        "RU",
        "Новосибирская обл.",
        "Asia/Novosibirsk",
    )
    assert contact["consent_source"] == "import" and contact["consent_at"] == "2026-02-01T00:00:00Z"
    status, error = await call(
        env, "PATCH", "/v1/contacts/+73832123456", {"name": "Аня", "attributes": {"average_check": "много"}}
    )
    assert status == 422 and error["error"]["message"].startswith("attributes.average_check:")
    assert (await env.contact("+73832123456"))["name"] == "Анна"  # nothing half-applied
    env.clock.advance(60)
    status, patched = await call(
        env,
        "PATCH",
        "/v1/contacts/+73832123456",
        {
            "name": "Аня",
            "attributes": {"average_check": 1700, "city": None, "pet": "кот"},
            "marketing_consent": False,
            "consent_source": "звонок",
            "timezone": "Asia/Omsk",
        },
    )
    assert status == 200 and patched["name"] == "Аня"
    assert patched["attributes"] == {"average_check": 1700, "last_order_at": "2026-01-10", "pet": "кот"}
    assert (patched["marketing_consent"], patched["consent_source"], patched["consent_at"]) == (
        False,
        "звонок",
        "2026-02-01T00:01:00Z",
    )
    assert patched["timezone"] == "Asia/Omsk"
    status, error = await call(env, "PATCH", "/v1/contacts/+79161110002", {"attributes": {"pet": 3}})
    assert status == 422  # `pet` is text now for every contact of the client
    status, error = await call(env, "PATCH", "/v1/contacts/+79161110002", {"phone": "+79161110009"})
    assert status == 422 and error["error"]["code"] == "unknown_field"
    assert (await call(env, "PATCH", "/v1/contacts/+79169999999", {"name": "X"}))[0] == 404
    agent = await env.api.post(
        "/v1/admin/agents",
        json={"client_id": env.client_id, "name": "olga"},
        headers={"Authorization": "Bearer admin-secret"},
    )
    agent_key = (await agent.json())["api_key"]
    assert (await call(env, "GET", "/v1/contacts/+73832123456", key=agent_key))[0] == 200
    assert (await call(env, "PATCH", "/v1/contacts/+73832123456", {"name": "X"}, key=agent_key))[0] == 403
    assert (await call(env, "POST", "/v1/groups", {"name": "X"}, key=agent_key))[0] == 403


async def test_the_default_zone_is_a_client_setting(env: Env) -> None:
    assert (await call(env, "GET", "/v1/settings"))[1] == {"default_timezone": "Europe/Moscow"}
    assert (await env.contact("+79161110003"))["timezone"] == "Europe/Moscow"  # a mobile: many zones
    assert (await call(env, "PATCH", "/v1/settings", {"default_timezone": "Mars/Base"}))[0] == 422
    status, body = await call(env, "PATCH", "/v1/settings", {"default_timezone": "Asia/Vladivostok"})
    assert status == 200 and body == {"default_timezone": "Asia/Vladivostok"}
    assert (await env.contact("+79161110003"))["timezone"] == "Asia/Vladivostok"
    assert (await env.contact("+73832123456"))["timezone"] == "Asia/Novosibirsk"  # its number says
