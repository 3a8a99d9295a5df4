"""Tenant isolation: client A's key and agents see nothing of client B (404s); bad input is refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp.test_utils import TestClient

from bots.base import InboundMessage
from hub.api.app import create_app
from hub.bootstrap import Hub
from tests.support.real_adapters import link_customer
from tests.support.scenario import accept, approved_template, new_client, notify_item

MakeClient = Callable[..., Awaitable[TestClient]]  # type: ignore[type-arg]
ADMIN = {"Authorization": "Bearer admin-secret"}


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def _tenant(hub: Hub, api: TestClient, name: str, phone: str, vk: str) -> dict[str, str]:  # type: ignore[type-arg]
    made, client = await new_client(hub, name)
    await link_customer(hub, client.id, phone, vk=vk)
    at = datetime.fromtimestamp(hub.clock.now(), UTC)
    await hub.ingest.apply([InboundMessage("vk", vk, "где мой заказ?", f"{vk}-1", at)])
    template = await approved_template(hub, client.id, context="survey")
    [note] = await accept(hub, client, [notify_item(template.id, phone)])
    hook = await (
        await api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"}, headers=_auth(made.api_key))
    ).json()
    agent = await api.post(
        "/v1/admin/agents", json={"client_id": client.id, "name": f"agent {name}"}, headers=ADMIN
    )
    [thread] = (await (await api.get("/v1/threads", headers=_auth(made.api_key))).json())["threads"]
    full = await (await api.get(f"/v1/threads/{thread['id']}", headers=_auth(made.api_key))).json()
    return {
        "key": made.api_key,
        "agent": (await agent.json())["api_key"],
        "thread": thread["id"],
        "message": full["messages"][0]["id"],
        "notification": note.id,
        "webhook": hook["id"],
        "template": template.id,
        "phone": phone,
    }


async def test_a_sees_nothing_of_b(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    a = await _tenant(hub, api, "A", "+79161110001", "2001")
    b = await _tenant(hub, api, "B", "+79161110002", "2002")
    for key in (a["key"], a["agent"]):
        h = _auth(key)
        threads = (await (await api.get("/v1/threads", headers=h)).json())["threads"]
        assert [t["id"] for t in threads] == [a["thread"]]
        for method, path, body in [
            ("GET", f"/v1/threads/{b['thread']}", None),
            ("POST", f"/v1/threads/{b['thread']}/messages", {"text": "hi"}),
            ("POST", f"/v1/threads/{b['thread']}/assign", {"assignee": "x"}),
            ("POST", f"/v1/threads/{b['thread']}/resolve", None),
            ("PATCH", f"/v1/messages/{b['message']}", {"label": "other"}),
            ("GET", f"/v1/contacts/{b['phone']}", None),
            ("GET", f"/v1/notifications/{b['notification']}", None),
            ("GET", f"/v1/surveys/results?template_id={b['template']}", None),
        ]:
            resp = await api.request(method, path, json=body, headers=h)
            assert resp.status == 404, (key == a["agent"], method, path, resp.status)
            assert "error" in await resp.json()
    h = _auth(a["key"])
    for method, path in [
        ("GET", f"/v1/webhooks/{b['webhook']}"),
        ("DELETE", f"/v1/webhooks/{b['webhook']}"),
        ("POST", f"/v1/webhooks/{b['webhook']}/rotate"),
    ]:
        assert (await api.request(method, path, headers=h)).status == 404
    hooks = (await (await api.get("/v1/webhooks", headers=h)).json())["webhooks"]
    assert [w["id"] for w in hooks] == [a["webhook"]]
    replay = await api.post("/v1/webhooks/replay", json={"ids": [b["webhook"]]}, headers=h)
    assert (await replay.json())["replayed"] == 0
    agent_hooks = await api.get("/v1/webhooks", headers=_auth(a["agent"]))
    assert agent_hooks.status == 403  # agents answer customers; only the client manages webhooks
    send = await api.post("/v1/notify", json={}, headers=_auth(a["agent"]))
    assert send.status == 403


async def test_bad_input_is_refused_with_error_bodies(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    a = await _tenant(hub, api, "A", "+79161110001", "2001")
    h = _auth(a["key"])
    cases = [
        ("POST", f"/v1/threads/{a['thread']}/messages", b"{not json", 400, "malformed_json"),
        ("POST", f"/v1/threads/{a['thread']}/messages", b'{"text": ""}', 422, "invalid_field"),
        ("POST", f"/v1/threads/{a['thread']}/messages", b'{"text": "x", "extra": 1}', 422, "unknown_field"),
        ("PATCH", f"/v1/messages/{a['message']}", b'{"label": "spam"}', 422, "invalid_field"),
        ("POST", "/v1/webhooks", b'{"url": "ftp://example.com/x"}', 422, "invalid_field"),
        (
            "POST",
            "/v1/webhooks",
            b'{"url": "https://example.com/x", "events": ["nope"]}',
            422,
            "invalid_field",
        ),
        ("POST", "/v1/webhooks/replay", b"{}", 422, "missing_field"),
        ("GET", "/v1/threads?status=closed", None, 422, "invalid_field"),
        ("GET", "/v1/threads?cursor=zzz", None, 422, "invalid_field"),
        ("GET", "/v1/contacts/12", None, 422, "bad_phone"),
        ("GET", "/v1/surveys/results", None, 422, "missing_field"),
        ("GET", "/v1/threads/thr_nope", None, 404, "thread_not_found"),
    ]
    for method, path, body, status, code in cases:
        resp = await api.request(method, path, data=body, headers=h)
        assert resp.status == status, (path, await resp.text())
        assert (await resp.json())["error"]["code"] == code
    assert (await api.get("/v1/threads")).status == 401


async def test_threads_filters_and_cursor_pages(hub: Hub, aiohttp_client: MakeClient) -> None:
    api = await aiohttp_client(create_app(hub, run_workers=False))
    made, client = await new_client(hub)
    h = _auth(made.api_key)
    for n in range(5):
        await link_customer(hub, client.id, f"+7916111000{n}", vk=f"20{n}")
        hub.clock.advance(1)  # type: ignore[attr-defined]
        at = datetime.fromtimestamp(hub.clock.now(), UTC)
        text = "где заказ?" if n % 2 else "спасибо"
        await hub.ingest.apply([InboundMessage("vk", f"20{n}", text, f"m{n}", at)])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await (await api.get("/v1/threads", params=params, headers=h)).json()
        seen += [t["contact"]["phone"] for t in page["threads"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"+7916111000{n}" for n in (4, 3, 2, 1, 0)]
    agent_q = await (await api.get("/v1/threads", params={"needs_agent": "true"}, headers=h)).json()
    assert sorted(t["contact"]["phone"] for t in agent_q["threads"]) == ["+79161110001", "+79161110003"]
    labelled = await (await api.get("/v1/threads", params={"label": "question"}, headers=h)).json()
    assert len(labelled["threads"]) == 2
    first = agent_q["threads"][0]["id"]
    await api.post(f"/v1/threads/{first}/assign", json={"assignee": "olga"}, headers=h)
    mine = await (await api.get("/v1/threads", params={"assignee": "olga"}, headers=h)).json()
    assert [t["id"] for t in mine["threads"]] == [first]
